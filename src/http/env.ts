import type { Principal } from '../auth/principal.ts'
import type { Deps } from '../deps.ts'

/** The typed Hono environment every sub-app uses. */
export interface AppEnv {
  Variables: {
    deps: Deps
    requestId: string
    principal: Principal
  }
}
