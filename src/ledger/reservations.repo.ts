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
  return rows.map(toNumbers)
}

/** Reservations held by one process, whatever its heartbeat says (src/ledger/lineage.ts). */
export async function findReservationsOf(db: Db, owner: string, limit: number) {
  const rows = await db
    .selectFrom('billing_reservation')
    .select(['request_id', 'owner', 'sent_at', 'requests', 'tokens_input', 'tokens_output'])
    .where('owner', '=', owner)
    .orderBy('created_at')
    .limit(limit)
    .execute()
  return rows.map(toNumbers)
}

/** A reservation as the sweepers end it (sweeper.ts). */
export interface HeldReservation {
  request_id: string
  owner: string | null
  /** Null: never sent upstream (released, not billed). */
  sent_at: number | null
  requests: number
  tokens_input: number
  tokens_output: number
}

/** PostgreSQL's bigint columns may arrive as strings. */
function toNumbers(row: HeldReservation): HeldReservation {
  return {
    ...row,
    requests: Number(row.requests),
    tokens_input: Number(row.tokens_input),
    tokens_output: Number(row.tokens_output),
    sent_at: row.sent_at === null ? null : Number(row.sent_at),
  }
}
