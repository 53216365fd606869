import { type RawBuilder, sql } from 'kysely'

/**
 * billing_usage holds one row per settle, its metrics as columns (0011); the
 * daily rollup, the history and the margin report sum per metric. This turns
 * the rows `where` selects (billing_usage aliased `u`) into one row per metric
 * with a non-zero amount, as the table held them before 0011: user_id,
 * subscription_id, model_id, created_at, id, metric, amount, raw_amount (the
 * raw tokens; for requests, the request count wherever the tokens have a raw
 * count; null: unknown) and cost_micros (null on requests and without a price).
 * The filter runs on billing_usage itself, so its indexes serve it.
 */
export function usageMetricRows(where: RawBuilder<unknown>) {
  const pick = (requests: RawBuilder<unknown>, input: string, output: string) =>
    sql`CASE m.metric WHEN 'requests' THEN ${requests} WHEN 'tokens_input' THEN ${sql.ref(input)}
      ELSE ${sql.ref(output)} END`
  const amount = pick(sql`u.requests`, 'u.tokens_input', 'u.tokens_output')
  return sql`SELECT u.id, u.user_id, u.subscription_id, u.model_id, u.created_at, m.metric,
      ${amount} AS amount,
      ${pick(sql`CASE WHEN u.raw_input IS NULL THEN NULL ELSE u.requests END`, 'u.raw_input', 'u.raw_output')} AS raw_amount,
      ${pick(sql`CAST(NULL AS bigint)`, 'u.cost_input_micros', 'u.cost_output_micros')} AS cost_micros
    FROM billing_usage u CROSS JOIN (
      SELECT 'requests' AS metric UNION ALL SELECT 'tokens_input' UNION ALL SELECT 'tokens_output'
    ) m
    WHERE (${where}) AND ${amount} <> 0`
}
