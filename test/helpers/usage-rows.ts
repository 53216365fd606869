import type { Metric, UsageRow } from '../../db/tables.ts'

/** A usage row's metric as its own row: how the tests read billing_usage per metric. */
export interface MetricRow {
  id: string
  user_id: string
  subscription_id: string | null
  metric: Metric
  amount: number
  model_id: string | null
  chat_id: string | null
  request_id: string | null
  /** The tokens' flag; a request's count is never estimated. */
  estimated: number
  created_at: number
  raw_amount: number | null
  cost_micros: number | null
}

const num = (value: unknown) => (value === null || value === undefined ? null : Number(value))

/**
 * billing_usage holds one row per settle, its metrics as columns: this spreads
 * each into one row per metric with a non-zero amount, in id order then
 * requests, tokens_input, tokens_output (src/ledger/usage-metrics.sql.ts does
 * the same in SQL for the rollup, the history and the margin report).
 */
export function perMetric(rows: UsageRow[]): MetricRow[] {
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return sorted.flatMap((row) => {
    const rawKnown = row.raw_input !== null
    const of = (metric: Metric, amount: unknown, raw: unknown, cost: unknown): MetricRow => ({
      id: row.id,
      user_id: row.user_id,
      subscription_id: row.subscription_id,
      metric,
      amount: Number(amount),
      model_id: row.model_id,
      chat_id: row.chat_id,
      request_id: row.request_id,
      estimated: metric === 'requests' ? 0 : Number(row.estimated),
      created_at: Number(row.created_at),
      raw_amount: num(raw),
      cost_micros: num(cost),
    })
    return [
      of('requests', row.requests, rawKnown ? row.requests : null, null),
      of('tokens_input', row.tokens_input, row.raw_input, row.cost_input_micros),
      of('tokens_output', row.tokens_output, row.raw_output, row.cost_output_micros),
    ].filter((r) => r.amount !== 0)
  })
}
