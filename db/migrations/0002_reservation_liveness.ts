import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Reservations learn who holds them and whether their request went upstream,
 * and each gateway process announces it is alive: a reservation is swept when
 * its owner stops beating, never by age alone while the owner lives.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // SQLite adds one column per ALTER TABLE. Rows written before this migration keep nulls:
  // no owner (swept after the TTL, as before) and not known to be sent (released).
  await db.schema.alterTable('billing_reservation').addColumn('owner', 'text').execute()
  await db.schema.alterTable('billing_reservation').addColumn('sent_at', 'bigint').execute()
  await db.schema
    .createIndex('billing_reservation_owner')
    .on('billing_reservation')
    .column('owner')
    .execute()

  await db.schema
    .createTable('gateway_instance')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gateway_instance').ifExists().execute()
  await db.schema.dropIndex('billing_reservation_owner').ifExists().execute()
  await db.schema.alterTable('billing_reservation').dropColumn('sent_at').execute()
  await db.schema.alterTable('billing_reservation').dropColumn('owner').execute()
}
