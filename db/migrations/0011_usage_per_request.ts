import { type Kysely, PostgresAdapter, sql } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * billing_usage becomes one row per settle (one per request, plus a late
 * correction's): its three metrics as columns (requests, tokens_input,
 * tokens_output: what counted against the quota), the raw tokens and upstream
 * cost per direction, and the token classes the upstream reported (cached
 * input, cache writes, audio input within the input; reasoning and audio
 * output within the output; image tokens), 0 when not reported. A settle wrote
 * three rows and nine index entries; it now writes one and three.
 *
 * The rows of one settle (same request, same second) are carried over as one,
 * keeping the smallest id; rows on either side of the rollup's cursor stay
 * apart, so what the daily rollup holds is never counted twice. A request's
 * requests row never had a raw amount of its own or a cost: it is 1 wherever
 * the request's tokens have one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await createTable(db, 'billing_usage_next')
  await sql`
    INSERT INTO billing_usage_next (id, user_id, subscription_id, model_id, chat_id, request_id,
      estimated, created_at, requests, tokens_input, tokens_output, raw_input, raw_output,
      cost_input_micros, cost_output_micros)
    SELECT MIN(u.id), u.user_id, u.subscription_id, u.model_id, u.chat_id, u.request_id,
      MAX(u.estimated), u.created_at,
      SUM(CASE WHEN u.metric = 'requests' THEN u.amount ELSE 0 END),
      SUM(CASE WHEN u.metric = 'tokens_input' THEN u.amount ELSE 0 END),
      SUM(CASE WHEN u.metric = 'tokens_output' THEN u.amount ELSE 0 END),
      SUM(CASE WHEN u.metric = 'tokens_input' THEN u.raw_amount END),
      SUM(CASE WHEN u.metric = 'tokens_output' THEN u.raw_amount END),
      SUM(CASE WHEN u.metric = 'tokens_input' THEN u.cost_micros END),
      SUM(CASE WHEN u.metric = 'tokens_output' THEN u.cost_micros END)
    FROM billing_usage u LEFT JOIN billing_usage_rollup r ON r.name = 'usage'
    GROUP BY COALESCE(u.request_id, u.id), u.request_id, u.user_id, u.subscription_id,
      u.model_id, u.chat_id, u.created_at,
      CASE WHEN u.id <= r.rolled_through THEN 1 ELSE 0 END`.execute(db)
  await db.schema.dropTable('billing_usage').execute()
  await renameTable(db, 'billing_usage_next', 'billing_usage')
  await createIndexes(db)
}

/** One row per metric again, each metric's amount (and raw tokens, cost) on its own row. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_usage_metric_rows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('model_id', 'text')
    .addColumn('chat_id', 'text')
    .addColumn('request_id', 'text')
    .addColumn('estimated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('raw_amount', 'bigint')
    .addColumn('cost_micros', 'bigint')
    .execute()
  // The first metric keeps the row's id; the others get it with a suffix (ids order as text).
  await sql`
    INSERT INTO billing_usage_metric_rows (id, user_id, subscription_id, metric, amount, model_id,
      chat_id, request_id, estimated, created_at, raw_amount, cost_micros)
    SELECT CASE m.metric WHEN 'requests' THEN u.id ELSE u.id || m.suffix END, u.user_id,
      u.subscription_id, m.metric,
      CASE m.metric WHEN 'requests' THEN u.requests WHEN 'tokens_input' THEN u.tokens_input
        ELSE u.tokens_output END,
      u.model_id, u.chat_id, u.request_id,
      CASE m.metric WHEN 'requests' THEN 0 ELSE u.estimated END, u.created_at,
      CASE m.metric WHEN 'requests' THEN (CASE WHEN u.raw_input IS NULL THEN NULL ELSE u.requests END)
        WHEN 'tokens_input' THEN u.raw_input ELSE u.raw_output END,
      CASE m.metric WHEN 'requests' THEN NULL WHEN 'tokens_input' THEN u.cost_input_micros
        ELSE u.cost_output_micros END
    FROM billing_usage u CROSS JOIN (
      SELECT 'requests' AS metric, '' AS suffix
      UNION ALL SELECT 'tokens_input', '.1' UNION ALL SELECT 'tokens_output', '.2'
    ) m
    WHERE CASE m.metric WHEN 'requests' THEN u.requests WHEN 'tokens_input' THEN u.tokens_input
      ELSE u.tokens_output END <> 0`.execute(db)
  await db.schema.dropTable('billing_usage').execute()
  await renameTable(db, 'billing_usage_metric_rows', 'billing_usage')
  await db.schema
    .createIndex('billing_usage_user_created')
    .on('billing_usage')
    .columns(['user_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_usage_request')
    .on('billing_usage')
    .column('request_id')
    .execute()
}

/** PostgreSQL keeps the primary key's name (`<old>_pkey`) through a rename: it follows the table here. */
async function renameTable(db: Kysely<any>, from: string, to: string): Promise<void> {
  await db.schema.alterTable(from).renameTo(to).execute()
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`ALTER TABLE ${sql.table(to)} RENAME CONSTRAINT ${sql.ref(`${from}_pkey`)} TO ${sql.ref(`${to}_pkey`)}`.execute(
      db,
    )
  }
}

async function createTable(db: Kysely<any>, name: string): Promise<void> {
  await db.schema
    .createTable(name)
    // UUIDv7: the rollup's cursor walks the rows in id order.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('model_id', 'text')
    .addColumn('chat_id', 'text')
    .addColumn('request_id', 'text')
    // 1: the tokens were counted by the gateway (no usage from the upstream, or a sweeper's estimate).
    .addColumn('estimated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // What counted against the quota, per metric (weighted tokens once weights are configured).
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('tokens_input', 'bigint', (c) => c.notNull())
    .addColumn('tokens_output', 'bigint', (c) => c.notNull())
    // The tokens the upstream reported and their upstream cost; null: unknown.
    .addColumn('raw_input', 'bigint')
    .addColumn('raw_output', 'bigint')
    .addColumn('cost_input_micros', 'bigint')
    .addColumn('cost_output_micros', 'bigint')
    // The classes within raw_input / raw_output, as the upstream reported them (0: none).
    .addColumn('cached_input', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cache_write', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('audio_input', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('reasoning', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('audio_output', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('image_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
}

async function createIndexes(db: Kysely<any>): Promise<void> {
  // Per-user reads (history, /me's chart); a swept request's late settle finds its rows by id.
  await db.schema
    .createIndex('billing_usage_user_created')
    .on('billing_usage')
    .columns(['user_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_usage_request')
    .on('billing_usage')
    .column('request_id')
    .execute()
}
