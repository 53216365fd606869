import type { TokenClasses } from '../../ledger/amounts.ts'
import { oncePerFrozen } from '../../lib/frozen-cache.ts'
import { compileGlob } from '../../lib/glob.ts'

/**
 * Model weights and upstream prices (docs/weights.md). Weights are exact: the
 * config's decimals (at most 3 places) become integer thousandths, and a
 * weighted amount is ceil(raw x thousandths / 1000) in integer arithmetic, so
 * the ledger only ever adds integers and never bills less than the weight
 * says (7 tokens at 0.125 count 1, not 0.875). Prices are integer micro-units
 * of currency per 1,000,000 tokens, so a request's cost in micro-units is
 * ceil(raw x price_micros / 1,000,000): at most one micro-unit above the
 * exact figure, per usage row.
 */

/**
 * A model's weights in thousandths: 1000 = one weighted token per token. The
 * classes' weights (docs/weights.md) apply to the tokens of their class within
 * the total; the config defaults each to its total's weight (the input's for
 * cached input, cache writes and audio input, the output's for reasoning and
 * audio output), which weighs every token as before.
 */
export interface Weights {
  inputMilli: number
  outputMilli: number
  cachedInputMilli: number
  cacheWriteMilli: number
  audioInputMilli: number
  reasoningMilli: number
  audioOutputMilli: number
}

/**
 * A model's upstream price in micro-units of currency per 1,000,000 tokens: the totals', and each
 * token class's (the config defaults a class to its total's price). `imageInputMicros` prices the
 * image tokens within the input; image tokens of the output cost the output's price.
 */
export interface Prices {
  inputMicros: number
  outputMicros: number
  cachedInputMicros: number
  cacheWriteMicros: number
  audioInputMicros: number
  imageInputMicros: number
  reasoningMicros: number
  audioOutputMicros: number
}

const UNIT_WEIGHTS: Weights = Object.freeze({
  inputMilli: 1000,
  outputMilli: 1000,
  cachedInputMilli: 1000,
  cacheWriteMilli: 1000,
  audioInputMilli: 1000,
  reasoningMilli: 1000,
  audioOutputMilli: 1000,
})

/** The first pattern (in the config's written order) that matches the model, case ignored. */
function firstMatch<T>(map: Readonly<Record<string, T>>, model: string): T | undefined {
  const lower = model.toLowerCase()
  for (const entry of compiledEntries(map)) if (entry.matches(lower)) return entry.value
  return undefined
}

/** A pattern map's entries compiled once per map (config is frozen once loaded): read on every request. */
interface CompiledEntry<T> {
  matches: (lowerName: string) => boolean
  value: T
}

const compiledMap = oncePerFrozen(
  (map: Readonly<Record<string, unknown>>): ReadonlyArray<CompiledEntry<unknown>> =>
    Object.entries(map).map(([pattern, value]) => ({
      matches: compileGlob(pattern.toLowerCase()),
      value,
    })),
)

const compiledEntries = <T>(map: Readonly<Record<string, T>>) =>
  compiledMap(map) as ReadonlyArray<CompiledEntry<T>>

export function weightsFor(
  config: { modelWeights: Readonly<Record<string, Weights>> },
  model: string,
): Weights {
  return firstMatch(config.modelWeights, model) ?? UNIT_WEIGHTS
}

export function pricesFor(
  config: { modelPrices: Readonly<Record<string, Prices>> },
  model: string,
): Prices | null {
  return firstMatch(config.modelPrices, model) ?? null
}

/**
 * What a metric's counter counts, for the usage routes and /me: requests, or
 * token metrics in `weighted_tokens` as soon as any weight is configured
 * (`tokens` otherwise, as the seed counts).
 */
export function unitOf(
  config: { modelWeights: Readonly<Record<string, Weights>> },
  metric: string,
): 'requests' | 'tokens' | 'weighted_tokens' {
  if (metric === 'requests') return 'requests'
  return Object.keys(config.modelWeights).length > 0 ? 'weighted_tokens' : 'tokens'
}

/** ceil(a x b / d) for non-negative integers, exact (BigInt: raw x price can pass 2^53). */
function mulDivCeil(a: number, b: number, d: number): number {
  const product = BigInt(a) * BigInt(b)
  const big = BigInt(d)
  return Number((product + big - 1n) / big)
}

/** Raw tokens -> weighted tokens (ceil). Negative raw amounts (corrections) round toward zero's ceiling too. */
export function weigh(raw: number, milli: number): number {
  if (raw < 0) return -mulDivCeil(-raw, milli, 1000)
  return mulDivCeil(raw, milli, 1000)
}

/** A usage split into its token classes, as weights and prices read it. */
type ClassedUsage = { input: number; output: number; classes: TokenClasses; imageInput?: number }

/**
 * A usage's weighted input and output (docs/weights.md): each class's tokens at its weight, the
 * rest of the total at the total's weight, so with the default weights (every class at its
 * total's) the result is weigh(total, weight) exactly, as before the classes. Image tokens of
 * the input weigh as input.
 */
export function weighClasses(usage: ClassedUsage, weights: Weights) {
  return atClassRates(
    usage,
    {
      input: weights.inputMilli,
      cachedInput: weights.cachedInputMilli,
      cacheWrite: weights.cacheWriteMilli,
      audioInput: weights.audioInputMilli,
      imageInput: weights.inputMilli,
      output: weights.outputMilli,
      reasoning: weights.reasoningMilli,
      audioOutput: weights.audioOutputMilli,
    },
    1000n,
  )
}

/**
 * A usage's upstream cost in micro-units, per side (docs/weights.md, "Prices per token class"):
 * each class's tokens at its price, so with the default prices (every class at its total's)
 * the cost is ceil(total x price / 1M) exactly, as before the classes. The input side holds
 * plain input, cached input, cache writes, audio input and image input; the output side plain
 * output, reasoning and audio output (image tokens of the output cost the output's price).
 */
export function priceClasses(usage: ClassedUsage, prices: Prices) {
  return atClassRates(
    usage,
    {
      input: prices.inputMicros,
      cachedInput: prices.cachedInputMicros,
      cacheWrite: prices.cacheWriteMicros,
      audioInput: prices.audioInputMicros,
      imageInput: prices.imageInputMicros,
      output: prices.outputMicros,
      reasoning: prices.reasoningMicros,
      audioOutput: prices.audioOutputMicros,
    },
    1_000_000n,
  )
}

/** A rate per token of each class, `input` and `output` for the rest of their totals. */
interface ClassRates {
  input: number
  cachedInput: number
  cacheWrite: number
  audioInput: number
  imageInput: number
  output: number
  reasoning: number
  audioOutput: number
}

/**
 * The one rule weights and prices share: each class's tokens at its rate, the rest of the
 * total at the total's rate, summed exactly (BigInt: tokens x rate can pass 2^53) and divided
 * by `per`, rounded up ONCE per total, never per class.
 */
function atClassRates(
  usage: ClassedUsage,
  rates: ClassRates,
  per: bigint,
): { input: number; output: number } {
  const { cachedInput, cacheWrite, audioInput, reasoning, audioOutput } = usage.classes
  const imageInput = usage.imageInput ?? 0
  const plainInput = usage.input - cachedInput - cacheWrite - audioInput - imageInput
  const plainOutput = usage.output - reasoning - audioOutput
  const input =
    BigInt(plainInput) * BigInt(rates.input) +
    BigInt(cachedInput) * BigInt(rates.cachedInput) +
    BigInt(cacheWrite) * BigInt(rates.cacheWrite) +
    BigInt(audioInput) * BigInt(rates.audioInput) +
    BigInt(imageInput) * BigInt(rates.imageInput)
  const output =
    BigInt(plainOutput) * BigInt(rates.output) +
    BigInt(reasoning) * BigInt(rates.reasoning) +
    BigInt(audioOutput) * BigInt(rates.audioOutput)
  return { input: divCeil(input, per), output: divCeil(output, per) }
}

const divCeil = (value: bigint, per: bigint) => Number((value + per - 1n) / per)
