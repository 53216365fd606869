import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * billing_reservation holds only the requests in flight (hundreds, a few
 * thousand at most), written and deleted once per request: every index is
 * two more writes a request. The close finds a row by its key (request_id);
 * the sweeper's scan of the whole table every heartbeat (ordered by
 * created_at, filtered by owner) and the successor's read of its
 * predecessor's rows at start cost less than those writes, so the indexes on
 * created_at and owner go.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('billing_reservation_created').execute()
  await db.schema.dropIndex('billing_reservation_owner').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('billing_reservation_created')
    .on('billing_reservation')
    .column('created_at')
    .execute()
  await db.schema
    .createIndex('billing_reservation_owner')
    .on('billing_reservation')
    .column('owner')
    .execute()
}
