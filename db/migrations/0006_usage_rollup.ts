import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Usage history that does not grow without bound: a daily rollup of
 * billing_usage per user, day, plan, model and metric, and the
 * rollup's progress. Raw rows are kept for a retention (config
 * usage.retentionDays) and pruned after; the reads add the rollup to the raw
 * rows it does not hold yet (id > rolled_through), so they stay exact.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = !(db.getExecutor().adapter instanceof PostgresAdapter)
  await db.schema
    .createTable('billing_usage_daily')
    .addColumn('user_id', 'text', (c) => c.notNull())
    // Epoch seconds of the UTC day's start.
    .addColumn('day', 'bigint', (c) => c.notNull())
    // The plan of the row's subscription (a subscription never changes plan: a change starts a
    // new one), what the margin report groups by; shorter than the subscription's id.
    // '' for a usage row without subscription or model: a primary key takes no null on PostgreSQL.
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    // Sums with nulls (unknown) as 0, as the margin report counts them.
    .addColumn('raw_amount', 'bigint', (c) => c.notNull())
    .addColumn('cost_micros', 'bigint', (c) => c.notNull())
    // The newest created_at rolled into the row: the console's "last request" outlives the raw rows.
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_usage_daily_pk', [
      'user_id',
      'day',
      'plan_id',
      'model_id',
      'metric',
    ])
    // SQLite: the rows live in the key's b-tree instead of a rowid table plus a key index that
    // repeats the key. PostgreSQL has no such option. No other index: the per-user reads use the
    // key, and the margin report (an admin's rare read) scans the rollup, about a tenth of the
    // raw rows' size, as it scanned billing_usage before; an index on day cost 61 bytes per
    // request on SQLite (bench:storage's defaults, with the subscription id in the key: 133
    // instead of 72).
    .$call((table) => (sqlite ? table.modifyEnd(sql`without rowid`) : table))
    .execute()
  // One row ('usage'): how far the rollup and the prune got, in billing_usage ids (UUIDv7, time-ordered).
  await db.schema
    .createTable('billing_usage_rollup')
    .addColumn('name', 'text', (c) => c.primaryKey())
    // Every billing_usage row with id <= this is in billing_usage_daily.
    .addColumn('rolled_through', 'text', (c) => c.notNull())
    // Where today's prune scan stopped, and the UTC day (epoch seconds) of that scan.
    .addColumn('pruned_through', 'text', (c) => c.notNull())
    .addColumn('prune_day', 'bigint', (c) => c.notNull())
    // Raw rows created at or after this were never pruned: reads of partial days are exact there.
    .addColumn('complete_since', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db
    .insertInto('billing_usage_rollup')
    .values({
      name: 'usage',
      rolled_through: '',
      pruned_through: '',
      prune_day: 0,
      complete_since: 0,
      updated_at: 0,
    })
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_usage_rollup').ifExists().execute()
  await db.schema.dropTable('billing_usage_daily').ifExists().execute()
}
