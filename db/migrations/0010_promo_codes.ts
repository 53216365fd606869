import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Promo codes an operator hands out, and who redeemed which. A code is stored
 * as the SHA-256 of its normalised text, never as itself; `hint` keeps its last
 * characters so an operator can tell codes apart. `uses` counts redemptions
 * under `max_uses` in the same statement that adds one, so two concurrent
 * redemptions of a single-use code cannot both pass.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('promo_code')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    // 'plan_days' (plan_id, days) or 'discount' (percent_off, plan_id optional: any paid plan).
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text')
    .addColumn('days', 'integer')
    .addColumn('percent_off', 'integer')
    .addColumn('max_uses', 'integer')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('promo_redemption')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('redeemed_at', 'bigint', (c) => c.notNull())
    // A discount waits for the user's next checkout; the transaction that took it is named here,
    // and cleared again when that payment is canceled, so the discount is not lost to a decline.
    .addColumn('transaction_id', 'text')
    .addColumn('spent_at', 'bigint')
    .execute()
  // Once per user per code: the constraint, not a read, decides.
  await db.schema
    .createIndex('promo_redemption_code_user')
    .on('promo_redemption')
    .columns(['code_id', 'user_id'])
    .unique()
    .execute()
  await db.schema
    .createIndex('promo_redemption_user')
    .on('promo_redemption')
    .columns(['user_id', 'redeemed_at'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('promo_redemption').ifExists().execute()
  await db.schema.dropTable('promo_code').ifExists().execute()
}
