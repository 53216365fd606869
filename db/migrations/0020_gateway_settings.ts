import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Settings the operator changes while the gateway runs, one row per key (the
 * first: `default_plan_id`, the plan of a user without a paid subscription).
 * Empty after this migration: the gateway seeds a key from its configuration
 * at start when the row is absent (a migration reads no configuration), and
 * from then on the row, not the configuration, is the setting.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('gateway_setting')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gateway_setting').ifExists().execute()
}
