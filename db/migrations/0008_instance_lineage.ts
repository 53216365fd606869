import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * A gateway process records the address it listens on (its host name and
 * socket) while it holds it: the process that binds the same address after a
 * crash knows the previous holder is dead and takes over its reservations at
 * start. Null while starting, after giving the address up, and on rows older
 * than this migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('gateway_instance').addColumn('name', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('gateway_instance').dropColumn('name').execute()
}
