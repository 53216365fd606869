import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Rate windows per plan (requests and tokens per minute and per UTC day). Their counters
 * are rows of billing_quota_counter keyed by the window's start (metrics
 * requests_per_minute, tokens_per_minute, requests_per_day, tokens_per_day); a
 * reservation remembers the minute it was reserved in (the day follows from it) and the
 * tokens it holds there, so its settle moves the same windows. Null: the plan had no
 * windows when the request was admitted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_reservation').addColumn('window_start', 'bigint').execute()
  await db.schema
    .alterTable('billing_reservation')
    .addColumn('window_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_reservation').dropColumn('window_tokens').execute()
  await db.schema.alterTable('billing_reservation').dropColumn('window_start').execute()
}
