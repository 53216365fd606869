import type { Context } from 'hono'
import type { Principal } from '../auth/principal.ts'
import type { AppEnv } from '../http/env.ts'
import type { Lang } from './i18n.ts'

/** The pages' Hono environment: the app's, plus who is signed in and in which language. */
export interface WebEnv {
  Variables: AppEnv['Variables'] & {
    lang: Lang
    /** Set by loadSignIn when a session or the host application's JWT cookie is valid. */
    viewer: Principal | undefined
    /** Why nobody is signed in although a credential was sent: the sign-in page says so. */
    signInProblem: 'expired' | undefined
    /** The form token of this viewer's credential (csrf.ts). */
    csrf: string
  }
}

export type WebContext = Context<WebEnv>
