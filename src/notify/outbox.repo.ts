import type { Insertable } from 'kysely'
import type { Db, OutboxEventRow, OutboxEventTable } from '../../db/tables.ts'

/**
 * Records an event to deliver. A repeated dedupe_key changes nothing (the unique index decides,
 * on both databases), so "once per threshold per period" holds across requests and replicas.
 * True when this call wrote the row.
 */
export async function insertOutboxEvent(
  db: Db,
  row: Insertable<OutboxEventTable>,
): Promise<boolean> {
  const result = await db
    .insertInto('outbox_event')
    .values(row)
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

/** Rows due for a try: not delivered, not given up, their time come, nobody holding them. */
export async function findDueOutboxEvents(
  db: Db,
  now: number,
  limit: number,
): Promise<OutboxEventRow[]> {
  return db
    .selectFrom('outbox_event')
    .selectAll()
    .where('delivered_at', 'is', null)
    .where('failed_at', 'is', null)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute()
}

/**
 * Takes a row for one delivery, with one conditional UPDATE: of two replicas draining together
 * only one wins it. The hold lapses on its own if the holder dies mid-delivery.
 */
export async function claimOutboxEvent(
  db: Db,
  id: string,
  now: number,
  until: number,
): Promise<boolean> {
  const result = await db
    .updateTable('outbox_event')
    .set({ claimed_until: until })
    .where('id', '=', id)
    .where('delivered_at', 'is', null)
    .where('failed_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** What one try came to: delivered, to try again at `retryAt`, or given up. */
export async function recordOutboxAttempt(
  db: Db,
  id: string,
  attempt: {
    attempts: number
    status: number | null
    error: string | null
    deliveredAt?: number
    retryAt?: number
    failedAt?: number
  },
): Promise<void> {
  await db
    .updateTable('outbox_event')
    .set({
      attempts: attempt.attempts,
      last_status: attempt.status,
      last_error: attempt.error,
      claimed_until: null,
      delivered_at: attempt.deliveredAt ?? null,
      failed_at: attempt.failedAt ?? null,
      ...(attempt.retryAt === undefined ? {} : { next_attempt_at: attempt.retryAt }),
    })
    .where('id', '=', id)
    .execute()
}
