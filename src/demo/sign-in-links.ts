import type { Deps } from '../deps.ts'
import { mintSignInLink } from '../web/sign-in.ts'

/** One-time sign-in links to the pages (/billing, /admin) for the demo's user and admin. */
export async function mintSignInLinks(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'ids' | 'logger'>,
  users: { user: string; admin: string },
): Promise<{ user: string; admin: string }> {
  return {
    user: (await mintSignInLink(deps, users.user)).url,
    admin: (await mintSignInLink(deps, users.admin)).url,
  }
}
