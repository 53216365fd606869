import type { Metric } from '../../db/tables.ts'

export type { Metric }

/** The metered quantities, in the order every statement touches them (no deadlocks). */
export const METRICS: readonly Metric[] = ['requests', 'tokens_input', 'tokens_output']

export type Amounts = Record<Metric, number>

export function isMetric(value: string): value is Metric {
  return (METRICS as readonly string[]).includes(value)
}

export const zeroAmounts = (): Amounts => ({ requests: 0, tokens_input: 0, tokens_output: 0 })
