import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * The exchange rates an admin sets, each from a UTC date on: how many units of
 * `currency` (the shop's, e.g. RUB) one unit of the upstream's price currency
 * buys, in millionths. The margin report converts each day's upstream cost and
 * each payment by the rate in force on its date. One rate per currency and
 * date: setting it again replaces it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('exchange_rate')
    .addColumn('currency', 'text', (c) => c.notNull())
    // Epoch seconds of the UTC midnight the rate starts on.
    .addColumn('valid_from', 'bigint', (c) => c.notNull())
    .addColumn('rate_micros', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addPrimaryKeyConstraint('exchange_rate_pk', ['currency', 'valid_from'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('exchange_rate').ifExists().execute()
}
