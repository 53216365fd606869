import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.
// SQLite takes one ADD COLUMN per ALTER TABLE, so each column is its own statement.

export async function up(db: Kysely<any>): Promise<void> {
  // 1 only when an admin created the key with `"admin": true`; otherwise a key is never admin.
  await db.schema
    .alterTable('gateway_api_key')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  // 1 when the key may name the end user it acts for (X-OpenWebUI-User-Id, the body's `user`).
  await db.schema
    .alterTable('gateway_api_key')
    .addColumn('acts_for_users', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  // Epoch seconds after which the key is refused; null: no expiry.
  await db.schema.alterTable('gateway_api_key').addColumn('expires_at', 'bigint').execute()

  // The retention job deletes by age.
  await db.schema
    .createIndex('billing_webhook_event_received')
    .on('billing_webhook_event')
    .column('received_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('billing_webhook_event_received').ifExists().execute()
  for (const column of ['expires_at', 'acts_for_users', 'is_admin']) {
    await db.schema.alterTable('gateway_api_key').dropColumn(column).execute()
  }
}
