import type { Kysely } from 'kysely'
import type { DB } from '../../../db/tables.ts'
import { type Metric, zeroAmounts } from '../amounts.ts'
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
  return endPackReservations(db, rows, bounds.now, nextId)
}

/** A restarted process ends its dead predecessor's pack-funded reservations at once (ledger/lineage.ts). */
export async function endPackReservationsOf(
  db: Kysely<DB>,
  owner: string,
  now: number,
  nextId: () => string,
) {
  const rows = await db
    .selectFrom('billing_pack_reservation')
    .select(['request_id', 'metric', 'amount', 'sent_at'])
    .where('owner', '=', owner)
    .execute()
  return endPackReservations(db, rows, now, nextId)
}

async function endPackReservations(
  db: Kysely<DB>,
  rows: Array<{ request_id: string; metric: Metric; amount: number; sent_at: number | null }>,
  now: number,
  nextId: () => string,
) {
  const result = { settled: 0, released: 0 }
  for (const row of rows) {
    if (row.sent_at === null) {
      if (await releaseFromPack(db, row.request_id)) result.released++
      continue
    }
    const actual = { ...zeroAmounts(), [row.metric]: Number(row.amount) }
    const input = { requestId: row.request_id, actual, now }
    if (await settleFromPack(db, input, nextId)) result.settled++
  }
  return result
}
