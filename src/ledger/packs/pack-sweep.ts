import type { Kysely } from 'kysely'
import type { DB } from '../../../db/tables.ts'
import { zeroAmounts } from '../amounts.ts'
import { releaseFromPack, settleFromPack } from './pack-close.ts'

/**
 * The sweeper's part for pack-funded reservations (ledger/sweeper.ts): those
 * of another process whose heartbeat stopped, ended as billing_reservation's
 * are: a sent request spends its reservation as estimated, an unsent one is
 * released. Each ends once whoever else sweeps it (the close deletes first).
 */
export async function sweepPackReservations(
  db: Kysely<DB>,
  bounds: { self: string; deadBefore: number; now: number; limit: number },
  nextId: () => string,
): Promise<{ settled: number; released: number }> {
  const rows = await db
    .selectFrom('billing_pack_reservation as r')
    .leftJoin('gateway_instance as i', 'i.id', 'r.owner')
    .select(['r.request_id', 'r.metric', 'r.amount', 'r.sent_at'])
    .where('r.owner', '<>', bounds.self)
    .where((eb) => eb.or([eb('i.id', 'is', null), eb('i.heartbeat_at', '<', bounds.deadBefore)]))
    .orderBy('r.created_at')
    .limit(bounds.limit)
    .execute()
  const result = { settled: 0, released: 0 }
  for (const row of rows) {
    if (row.sent_at === null) {
      if (await releaseFromPack(db, row.request_id)) result.released++
      continue
    }
    const actual = { ...zeroAmounts(), [row.metric]: Number(row.amount) }
    const input = { requestId: row.request_id, actual, now: bounds.now }
    if (await settleFromPack(db, input, nextId)) result.settled++
  }
  return result
}
