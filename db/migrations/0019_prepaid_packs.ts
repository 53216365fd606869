import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Prepaid packs. `billing_pack` holds the definitions an operator sells next
 * to plans (an amount of one metric, a price, a validity). A pack bought is a
 * `billing_pack_holding`: its `remaining` is the sum of its entries and
 * `reserved` what requests in flight hold of it. `billing_pack_entry` is the
 * append-only ledger (credit, spend, refund, expiry; signed amounts): a
 * credit, a refund and an expiry happen at most once per holding (the partial
 * unique index), and a payment credits at most one holding (unique
 * transaction_id). `billing_pack_reservation` is a request in flight funded
 * by a pack, with the owner and sent_at the sweeper needs, as
 * billing_reservation has. A payment names the pack it buys (pack_id).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_pack')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_ru', 'text')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('validity_days', 'integer', (c) => c.notNull())
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('display_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('billing_pack_holding')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('pack_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text', (c) => c.unique())
    .addColumn('remaining', 'bigint', (c) => c.notNull())
    .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('valid_until', 'bigint', (c) => c.notNull())
    .addColumn('closed_at', 'bigint')
    .addColumn('closed_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('billing_pack_holding_user')
    .on('billing_pack_holding')
    .columns(['user_id', 'metric', 'valid_until'])
    .execute()
  await db.schema
    .createTable('billing_pack_entry')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('holding_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await sql`CREATE UNIQUE INDEX billing_pack_entry_once ON billing_pack_entry (holding_id, kind) WHERE kind IN ('credit', 'refund', 'expiry')`.execute(
    db,
  )
  await db.schema
    .createIndex('billing_pack_entry_holding')
    .on('billing_pack_entry')
    .columns(['holding_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_pack_entry_request')
    .on('billing_pack_entry')
    .column('request_id')
    .execute()
  await db.schema
    .createTable('billing_pack_reservation')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('holding_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('owner', 'text')
    .addColumn('sent_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.alterTable('billing_transaction').addColumn('pack_id', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_transaction').dropColumn('pack_id').execute()
  await db.schema.dropTable('billing_pack_reservation').ifExists().execute()
  await db.schema.dropTable('billing_pack_entry').ifExists().execute()
  await db.schema.dropTable('billing_pack_holding').ifExists().execute()
  await db.schema.dropTable('billing_pack').ifExists().execute()
}
