import type { Database } from '../../db/client.ts'
import type { Config } from '../config/schema.ts'
import type { Clock } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { createTtlCache } from '../lib/ttl-cache.ts'
import { findDisabledAt } from './users.repo.ts'

export type DisabledUsers = ReturnType<typeof createDisabledUsers>

/**
 * Whether a user is disabled by an operator, asked on every authenticated
 * request (API key, JWT, a service key's end user, a page session). An answer
 * is trusted for auth.apiKeyCacheMs, the same bound as a revoked key's: the
 * replica that disables a user forgets its answer at once (forget), another
 * replica refuses the user once its entry expires (5 s by default). Enabled
 * users are cached too, so a busy user costs one lookup per window, not per call.
 */
// Its collaborators are named here, not picked from AuthDeps: it is one of AuthDeps' fields.
export function createDisabledUsers(deps: {
  clock: Clock
  config: Readonly<Config>
  database: Database
}) {
  const known = createTtlCache<boolean>(deps.clock, 50_000)

  async function isDisabled(userId: string): Promise<boolean> {
    const cached = known.get(userId)
    if (cached !== undefined) return cached
    const disabled = (await findDisabledAt(deps.database.db, userId)) !== null
    const ttlMs = deps.config.auth.apiKeyCacheMs
    if (ttlMs > 0) known.set(userId, disabled, deps.clock.now() + ttlMs)
    return disabled
  }

  return {
    isDisabled,
    /** 403 for a disabled user, before anything is read or reserved for them. */
    async refuseIfDisabled(userId: string): Promise<void> {
      if (await isDisabled(userId)) {
        throw new DomainError('permission_denied', 'This account is disabled by the operator')
      }
    },
    /** After this process changed the user's state: the next request reads it again. */
    forget(userId: string) {
      known.delete(userId)
    },
  }
}
