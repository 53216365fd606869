import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * The console lists a user's last requests whole: a usage row keeps the HTTP
 * status its answer had and the latency (ms from the reservation to the
 * settle), null on rows written before this migration, by the sweeper or by
 * a late correction. A request refused at admission (402, 403, 429) writes a
 * request_refusal row with its error code and message, at most a few per user
 * per minute (the rest only counted in a metric), pruned with the usage rows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_usage').addColumn('status', 'integer').execute()
  await db.schema.alterTable('billing_usage').addColumn('latency_ms', 'integer').execute()
  await db.schema
    .createTable('request_refusal')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('model_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('request_refusal_user_created')
    .on('request_refusal')
    .columns(['user_id', 'created_at'])
    .execute()
  // The retention prune deletes by age.
  await db.schema
    .createIndex('request_refusal_created')
    .on('request_refusal')
    .column('created_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('request_refusal').ifExists().execute()
  await db.schema.alterTable('billing_usage').dropColumn('latency_ms').execute()
  await db.schema.alterTable('billing_usage').dropColumn('status').execute()
}
