import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * A period's counters become ONE row per (subscription, period), the three
 * metrics as columns (requests, tokens_input, tokens_output: each used and
 * reserved), instead of one row per metric. The atomic check-and-reserve is
 * then an UPDATE of one row whose WHERE is the whole admission rule: one row
 * locked, read and written per request instead of three, one index entry
 * instead of three. `tokens_output_last_reserved` is what the latest
 * reservation added to tokens_output_reserved (it may be capped at what
 * remained), for the reserving UPDATE's RETURNING; requests and tokens_input
 * are always reserved whole.
 *
 * The three rows of a period are folded into one, a metric without a row
 * starting at 0 (updated_at: the latest of the three).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await setAside(db, 'billing_quota_counter', 'billing_quota_counter_by_metric')
  await db.schema
    .createTable('billing_quota_counter')
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('requests_used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('requests_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_input_used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_input_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_output_used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_output_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens_output_last_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_quota_counter_pk', ['subscription_id', 'period_start'])
    .execute()
  const of = (metric: string, column: string) =>
    sql`SUM(CASE WHEN metric = ${sql.lit(metric)} THEN ${sql.ref(column)} ELSE 0 END)`
  await sql`
    INSERT INTO billing_quota_counter (subscription_id, period_start, requests_used,
      requests_reserved, tokens_input_used, tokens_input_reserved, tokens_output_used,
      tokens_output_reserved, tokens_output_last_reserved, updated_at)
    SELECT subscription_id, period_start,
      ${of('requests', 'used')}, ${of('requests', 'reserved')},
      ${of('tokens_input', 'used')}, ${of('tokens_input', 'reserved')},
      ${of('tokens_output', 'used')}, ${of('tokens_output', 'reserved')},
      ${of('tokens_output', 'last_reserved')}, MAX(updated_at)
    FROM billing_quota_counter_by_metric
    WHERE metric IN ('requests', 'tokens_input', 'tokens_output')
    GROUP BY subscription_id, period_start`.execute(db)
  await db.schema.dropTable('billing_quota_counter_by_metric').execute()
}

/** One row per (subscription, period, metric) again. */
export async function down(db: Kysely<any>): Promise<void> {
  await setAside(db, 'billing_quota_counter', 'billing_quota_counter_by_period')
  await db.schema
    .createTable('billing_quota_counter')
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_quota_counter_pk', [
      'subscription_id',
      'period_start',
      'metric',
    ])
    .execute()
  const pick = (requests: string, input: string, output: string) =>
    sql`CASE m.metric WHEN 'requests' THEN ${sql.ref(`c.${requests}`)}
      WHEN 'tokens_input' THEN ${sql.ref(`c.${input}`)} ELSE ${sql.ref(`c.${output}`)} END`
  await sql`
    INSERT INTO billing_quota_counter (subscription_id, period_start, metric, used, reserved,
      last_reserved, updated_at)
    SELECT c.subscription_id, c.period_start, m.metric,
      ${pick('requests_used', 'tokens_input_used', 'tokens_output_used')},
      ${pick('requests_reserved', 'tokens_input_reserved', 'tokens_output_reserved')},
      CASE m.metric WHEN 'tokens_output' THEN c.tokens_output_last_reserved ELSE 0 END,
      c.updated_at
    FROM billing_quota_counter_by_period c CROSS JOIN (
      SELECT 'requests' AS metric UNION ALL SELECT 'tokens_input' UNION ALL SELECT 'tokens_output'
    ) m`.execute(db)
  await db.schema.dropTable('billing_quota_counter_by_period').execute()
}

/**
 * Renames the table out of the way of its successor. PostgreSQL keeps a
 * constraint's name through a table rename, and constraint names are unique
 * per schema: the primary key is renamed with it, so the successor's can be
 * called billing_quota_counter_pk again.
 */
async function setAside(db: Kysely<any>, from: string, to: string): Promise<void> {
  await db.schema.alterTable(from).renameTo(to).execute()
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`ALTER TABLE ${sql.table(to)} RENAME CONSTRAINT ${sql.ref(`${from}_pk`)} TO ${sql.ref(`${to}_pk`)}`.execute(
      db,
    )
  }
}
