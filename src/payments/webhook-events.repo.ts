import type { Db, WebhookEventRow } from '../../db/tables.ts'

/** Bodies are kept for audit; a forged flood must not fill the disk, so they are capped. */
const MAX_BODY_CHARS = 16_384

/** Every notification received, rejected ones included, before anything is acted on. */
export async function insertWebhookEvent(db: Db, row: WebhookEventRow): Promise<void> {
  await db
    .insertInto('billing_webhook_event')
    .values({ ...row, body: row.body.slice(0, MAX_BODY_CHARS) })
    .execute()
}

/** The outcome once known: applied, ignored (and why), rejected (and why), failed. */
export async function setWebhookOutcome(db: Db, id: string, outcome: string): Promise<void> {
  await db
    .updateTable('billing_webhook_event')
    .set({ outcome: outcome.slice(0, 500) })
    .where('id', '=', id)
    .execute()
}

/** Deletes up to `limit` events received before `cutoff` (epoch seconds); returns how many. */
export async function deleteWebhookEventsBefore(db: Db, cutoff: number, limit: number) {
  const result = await db
    .deleteFrom('billing_webhook_event')
    .where(
      'id',
      'in',
      db
        .selectFrom('billing_webhook_event')
        .select('id')
        .where('received_at', '<', cutoff)
        .limit(limit),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** The latest notifications, newest first (ids are UUIDv7): the console's webhook list. */
export async function listRecentWebhookEvents(db: Db, limit: number) {
  return db
    .selectFrom('billing_webhook_event')
    .select(['id', 'event', 'object_id', 'source_ip', 'outcome', 'received_at'])
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
