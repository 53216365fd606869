import type { Db } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { type AuditEntry, insertAudit } from './console-audit.repo.ts'
import type { WebContext } from './env.ts'

/**
 * Records an action of the signed-in operator. `db` is the action's
 * transaction when it has one; otherwise the record follows the committed
 * change (an action calling YooKassa cannot hold a transaction open across the call).
 */
export async function recordAction(
  c: WebContext,
  entry: Omit<AuditEntry, 'actorId'>,
  db: Db = c.get('deps').database.db,
) {
  const deps = c.get('deps')
  await insertAudit(db, {
    ...entry,
    actorId: c.get('viewer')!.userId,
    id: deps.ids.next(),
    now: nowSeconds(deps.clock),
  })
}
