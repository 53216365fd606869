import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * The objects the upstream keeps in the operator's account (a Responses
 * answer and its output items, a chat answer's audio, a code interpreter's
 * container) are shared by every user of the gateway's one upstream key. Each
 * id the gateway hands out is bound here to the user it was made for, so a
 * request that names an id another user owns can be refused. Rows are pruned
 * after a retention (the upstream forgets stored responses after 30 days).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('stored_object')
    // The upstream's id (resp_..., msg_..., audio_...): the lookup on the request path.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  // The retention prune deletes by age.
  await db.schema
    .createIndex('stored_object_created')
    .on('stored_object')
    .column('created_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stored_object').ifExists().execute()
}
