import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.
// The pages' sign-in: one-time links and browser sessions. Only SHA-256 hashes of their
// secrets are stored, so a database leak signs nobody in.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('web_sign_in_link')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute()

  await db.schema
    .createTable('web_session')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('web_session_expires')
    .on('web_session')
    .column('expires_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('web_session').execute()
  await db.schema.dropTable('web_sign_in_link').execute()
}
