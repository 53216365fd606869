import type { Deps } from '../deps.ts'

/** Who is calling, as authenticate() found out. */
export interface Principal {
  userId: string
  email: string | null
  role: 'admin' | 'user'
  /** How the caller proved it: a JWT or a gateway API key (with its id). */
  via: { kind: 'jwt' } | { kind: 'api_key'; keyId: string }
}

/** The typed Hono environment every sub-app uses. */
export interface AppEnv {
  Variables: {
    deps: Deps
    requestId: string
    principal: Principal
  }
}
