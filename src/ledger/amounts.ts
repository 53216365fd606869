import type { Metric } from '../../db/tables.ts'

export type { Metric }

/** The metered quantities, in the order every statement touches them (no deadlocks). */
export const METRICS: readonly Metric[] = ['requests', 'tokens_input', 'tokens_output']

export type Amounts = Record<Metric, number>

export function isMetric(value: string): value is Metric {
  return (METRICS as readonly string[]).includes(value)
}

export const zeroAmounts = (): Amounts => ({ requests: 0, tokens_input: 0, tokens_output: 0 })

/**
 * The token classes an upstream may report (docs/metering.md): cached input
 * (read from a prompt cache), cache writes, audio input, all within `input`;
 * reasoning and audio output, within `output`; image tokens, within either.
 */
export type TokenClass =
  | 'cachedInput'
  | 'cacheWrite'
  | 'audioInput'
  | 'reasoning'
  | 'audioOutput'
  | 'image'

export const TOKEN_CLASSES: readonly TokenClass[] = [
  'cachedInput',
  'cacheWrite',
  'audioInput',
  'reasoning',
  'audioOutput',
  'image',
]

export type TokenClasses = Record<TokenClass, number>

export const noClasses = (): TokenClasses => ({
  cachedInput: 0,
  cacheWrite: 0,
  audioInput: 0,
  reasoning: 0,
  audioOutput: 0,
  image: 0,
})
