import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * The outbox of outgoing webhooks (soft limits, failed renewals, refunds, upstream failures):
 * an event is a row written where it happens (inside the transaction that made it, when there
 * is one), and the scheduler delivers it later with retries, so a process that dies between
 * the event and its delivery loses nothing. `dedupe_key` makes "once per threshold per period"
 * a unique insert; NULL for events that may repeat.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('outbox_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    // 'user' (the host application tells its user) or 'operator'.
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    // The JSON body sent, exactly as signed.
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    // A replica delivering the row holds it until then; another may take it after.
    .addColumn('claimed_until', 'bigint')
    .addColumn('delivered_at', 'bigint')
    // Set once the attempts ran out: the row stays as the record of what was not delivered.
    .addColumn('failed_at', 'bigint')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .execute()
  // The delivery job reads what is due and not yet settled.
  await db.schema
    .createIndex('outbox_event_due')
    .on('outbox_event')
    .columns(['delivered_at', 'failed_at', 'next_attempt_at'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox_event').ifExists().execute()
}
