import type { Db } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { AuthDeps } from './auth-deps.ts'
import { setDisabledAt } from './users.repo.ts'

/**
 * An operator disables or enables a user. Disabled, every credential of the
 * user (API keys, JWTs, page sessions, a service key naming them) is refused
 * with 403 (disabled-users.ts): at once on this replica, within
 * auth.apiKeyCacheMs on the others. Keys are kept, so enabling restores them.
 * `record` runs in the same transaction (the console's audit row), only when
 * the state changed. Returns whether it changed.
 */
export async function setUserDisabled(
  deps: Pick<AuthDeps, 'clock' | 'database' | 'disabledUsers' | 'logger'>,
  input: { userId: string; disabled: boolean; record?: (trx: Db) => Promise<void> },
): Promise<boolean> {
  const now = nowSeconds(deps.clock)
  const changed = await deps.database.db.transaction().execute(async (trx) => {
    const changed = await setDisabledAt(trx, input.userId, input.disabled ? now : null, now)
    if (changed) await input.record?.(trx)
    return changed
  })
  deps.disabledUsers.forget(input.userId)
  if (changed) {
    deps.logger.info(
      { userId: input.userId, disabled: input.disabled },
      input.disabled ? 'user disabled by an operator' : 'user enabled by an operator',
    )
  }
  return changed
}
