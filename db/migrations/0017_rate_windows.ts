import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Rate windows per plan (requests and tokens per minute and per day in the plan's time
 * zone). billing_rate_window holds one counter per (subscription, kind, window start):
 * `used` and `reserved` like a period's counters, the window's end (a day in a zone with
 * summer time lasts 23 or 25 hours) and the limit it was last checked against.
 * billing_rate_window_hold remembers, per reservation of a plan with windows, what it
 * holds in each window it was admitted in, so its settle or release moves those windows
 * and no others. Plans without windows write neither table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_rate_window')
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('window_limit', 'bigint', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_rate_window_pk', ['subscription_id', 'kind', 'window_start'])
    .execute()
  // The retention prune deletes the windows that are over.
  await db.schema
    .createIndex('billing_rate_window_end')
    .on('billing_rate_window')
    .column('window_end')
    .execute()
  await db.schema
    .createTable('billing_rate_window_hold')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('held', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_rate_window_hold_pk', ['request_id', 'kind'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_rate_window_hold').ifExists().execute()
  await db.schema.dropTable('billing_rate_window').ifExists().execute()
}
