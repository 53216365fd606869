import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Usage rows learn what a request cost besides what it counted: `amount`
 * stays what counts against the quota (weighted tokens once model weights
 * are configured), `raw_amount` the tokens the upstream reported, and
 * `cost_micros` the upstream's price of them in micro-units of the price
 * currency. Rows written before this migration keep nulls (unknown).
 */
export async function up(db: Kysely<any>): Promise<void> {
  // SQLite adds one column per ALTER TABLE.
  await db.schema.alterTable('billing_usage').addColumn('raw_amount', 'bigint').execute()
  await db.schema.alterTable('billing_usage').addColumn('cost_micros', 'bigint').execute()
  // No index on created_at for the margin report: it would cost every settle a third index
  // write for a rare admin read (billing_usage_user_created serves per-user ranges).
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_usage').dropColumn('cost_micros').execute()
  await db.schema.alterTable('billing_usage').dropColumn('raw_amount').execute()
}
