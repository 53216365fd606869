import type { Metric } from '../../db/tables.ts'

/**
 * A period's counter row (billing_quota_counter, one per subscription and
 * period, migration 0018) holds each metric's used and reserved as columns;
 * tests compare counters metric by metric with the usage and reservation rows.
 */

/** The columns byMetric reads, to select. */
export const COUNTER_COLUMNS = [
  'requests_used',
  'requests_reserved',
  'tokens_input_used',
  'tokens_input_reserved',
  'tokens_output_used',
  'tokens_output_reserved',
] as const

type CounterColumnsRow = Record<`${Metric}_${'used' | 'reserved'}`, unknown>

/** Each counter row as three, one per metric: { ...its other columns, metric, used, reserved }. */
export function byMetric<R extends CounterColumnsRow>(
  rows: R[],
): Array<Omit<R, keyof CounterColumnsRow> & { metric: Metric; used: number; reserved: number }> {
  return rows.flatMap((row) => {
    const {
      requests_used,
      requests_reserved,
      tokens_input_used,
      tokens_input_reserved,
      tokens_output_used,
      tokens_output_reserved,
      ...rest
    } = row
    const counter = (metric: Metric, used: unknown, reserved: unknown) => ({
      ...rest,
      metric,
      used: Number(used),
      reserved: Number(reserved),
    })
    return [
      counter('requests', requests_used, requests_reserved),
      counter('tokens_input', tokens_input_used, tokens_input_reserved),
      counter('tokens_output', tokens_output_used, tokens_output_reserved),
    ]
  })
}
