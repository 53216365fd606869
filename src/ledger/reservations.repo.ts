import type { Db } from '../../db/tables.ts'

/**
 * Reservations whose request can no longer end by itself: those of another
 * process whose heartbeat is older than `deadBefore` (or that never beat: an
 * owner missing from gateway_instance is as dead), and, as a last resort,
 * rows with no owner (written before migration 0002) older than `ttlBefore`.
 * A live owner's reservations are never returned, however old; `self`'s own
 * never either (its unfinished closes are retried from memory).
 */
export async function findStaleReservations(
  db: Db,
  bounds: { self: string; deadBefore: number; ttlBefore: number; limit: number },
) {
  const rows = await db
    .selectFrom('billing_reservation as r')
    .leftJoin('gateway_instance as i', 'i.id', 'r.owner')
    .select([
      'r.request_id',
      'r.owner',
      'r.sent_at',
      'r.requests',
      'r.tokens_input',
      'r.tokens_output',
    ])
    .where((eb) =>
      eb.or([
        eb.and([eb('r.owner', 'is', null), eb('r.created_at', '<', bounds.ttlBefore)]),
        eb.and([
          eb('r.owner', '<>', bounds.self),
          eb.or([eb('i.id', 'is', null), eb('i.heartbeat_at', '<', bounds.deadBefore)]),
        ]),
      ]),
    )
    .orderBy('r.created_at')
    .limit(bounds.limit)
    .execute()
  return rows.map((row) => ({
    ...row,
    requests: Number(row.requests),
    tokens_input: Number(row.tokens_input),
    tokens_output: Number(row.tokens_output),
    sent_at: row.sent_at === null ? null : Number(row.sent_at),
  }))
}
