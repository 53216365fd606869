import type { Principal } from '../auth/principal.ts'
import type { Deps } from '../deps.ts'
import type { HeaderSource } from './header-source.ts'

/** The typed Hono environment every sub-app uses. */
export interface AppEnv {
  Variables: {
    deps: Deps
    requestId: string
    principal: Principal
    /**
     * Set by the proxy when the request acts for an end user its body named (a service key):
     * the request log names this user. The principal stays who authenticated.
     */
    actingUser?: Principal
    /** The request's headers without a WHATWG Headers (request-headers.ts), read once. */
    requestHeaders: HeaderSource
  }
}
