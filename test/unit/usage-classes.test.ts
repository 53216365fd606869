import { describe, expect, it } from 'vitest'
import { noClasses } from '../../src/ledger/amounts.ts'
import {
  type Prices,
  priceClasses,
  type Weights,
  weighClasses,
} from '../../src/pipeline/estimate/weights.ts'
import { anthropicUsage, readUsage, validUsage } from '../../src/pipeline/settle/usage.ts'

/** Token classes (docs/metering.md): read from every dialect, checked, weighed per class. */
const MAX = 1_000_000
const counted = (value: unknown) => validUsage(readUsage(value)!, MAX)

const weights = (overrides: Partial<Weights> = {}): Weights => ({
  inputMilli: 1000,
  outputMilli: 1000,
  cachedInputMilli: 1000,
  cacheWriteMilli: 1000,
  audioInputMilli: 1000,
  reasoningMilli: 1000,
  audioOutputMilli: 1000,
  ...overrides,
})

describe('token classes of the upstream usage', () => {
  it('reads chat completions details as subsets of their totals', () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 800, audio_tokens: 50, image_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 200, audio_tokens: 40 },
    }
    expect(counted(usage)).toEqual({
      input: 1000,
      output: 300,
      classes: {
        ...noClasses(),
        cachedInput: 800,
        audioInput: 50,
        reasoning: 200,
        audioOutput: 40,
        image: 20,
      },
      // The input's image tokens, priced apart (docs/weights.md).
      imageInput: 20,
    })
  })

  it('reads the Responses API details, cache writes included', () => {
    const usage = {
      input_tokens: 500,
      input_tokens_details: { cached_tokens: 400, cache_write_tokens: 50 },
      output_tokens: 90,
      output_tokens_details: { reasoning_tokens: 64 },
    }
    expect(counted(usage)).toEqual({
      input: 500,
      output: 90,
      classes: { ...noClasses(), cachedInput: 400, cacheWrite: 50, reasoning: 64 },
    })
  })

  it("adds Anthropic's cache reads and writes to its input_tokens, which exclude them", () => {
    const usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 1024,
      cache_read_input_tokens: 20000,
      output_tokens: 87,
    }
    const expected = {
      input: 21_036,
      output: 87,
      classes: { ...noClasses(), cachedInput: 20_000, cacheWrite: 1024 },
    }
    expect(validUsage(anthropicUsage(usage)!, MAX)).toEqual(expected)
    expect(counted(usage)).toEqual(expected)
    // Without cache fields it is the plain input.
    expect(validUsage(anthropicUsage({ input_tokens: 5, output_tokens: 2 })!, MAX)).toEqual({
      input: 5,
      output: 2,
      classes: noClasses(),
    })
  })

  it('refuses an Anthropic usage whose cache count is not a count, and ignores a bad detail', () => {
    expect(
      validUsage(
        anthropicUsage({ input_tokens: 5, cache_read_input_tokens: '9', output_tokens: 1 })!,
        MAX,
      ),
    ).toBeNull()
    // A detail larger than its total (or negative) counts 0: its tokens stay at the total's weight.
    const usage = {
      prompt_tokens: 10,
      completion_tokens: 5,
      prompt_tokens_details: { cached_tokens: 11 },
      completion_tokens_details: { reasoning_tokens: -1 },
    }
    expect(counted(usage)).toEqual({ input: 10, output: 5, classes: noClasses() })
  })

  it('keeps the plain weight exact: default class weights give ceil(total x weight), one rounding', () => {
    const usage = { input: 7, output: 7, classes: { ...noClasses(), cachedInput: 3, reasoning: 5 } }
    const eighth = { inputMilli: 125, outputMilli: 125, cachedInputMilli: 125, reasoningMilli: 125 }
    // ceil(7 x 0.125) = 1 per total, not ceil(4 x 0.125) + ceil(3 x 0.125) = 2.
    expect(weighClasses(usage, weights(eighth))).toEqual({ input: 1, output: 1 })
  })

  it('weighs each class at its own weight', () => {
    const usage = {
      input: 21_036,
      output: 87,
      classes: { ...noClasses(), cachedInput: 20_000, cacheWrite: 1024, reasoning: 50 },
    }
    const w = weights({ cachedInputMilli: 100, cacheWriteMilli: 1250, reasoningMilli: 2000 })
    // 12 + 20,000 x 0.1 + 1,024 x 1.25 = 3,292; 37 + 50 x 2 = 137.
    expect(weighClasses(usage, w)).toEqual({ input: 3_292, output: 137 })
  })
})

describe('prices per token class', () => {
  const prices = (overrides: Partial<Prices> = {}): Prices => ({
    inputMicros: 2_500_000,
    outputMicros: 10_000_000,
    cachedInputMicros: 2_500_000,
    cacheWriteMicros: 2_500_000,
    audioInputMicros: 2_500_000,
    imageInputMicros: 2_500_000,
    reasoningMicros: 10_000_000,
    audioOutputMicros: 10_000_000,
    ...overrides,
  })

  it('prices the image tokens of the input at the image price, those of the output at the output price', () => {
    const usage = counted({
      prompt_tokens: 1000,
      completion_tokens: 100,
      prompt_tokens_details: { cached_tokens: 200, image_tokens: 300 },
      completion_tokens_details: { image_tokens: 40 },
    })!
    expect(usage).toMatchObject({ imageInput: 300, classes: { image: 340, cachedInput: 200 } })
    // input: 500 x 2.5 + 200 x 1.25 + 300 x 5 = 3,000 micro-units; output: 100 x 10 = 1,000.
    const p = prices({ cachedInputMicros: 1_250_000, imageInputMicros: 5_000_000 })
    expect(priceClasses(usage, p)).toEqual({ input: 3_000, output: 1_000 })
  })

  it('leaves image tokens that do not fit in what the input classes left at the input price', () => {
    const usage = counted({
      prompt_tokens: 100,
      completion_tokens: 0,
      prompt_tokens_details: { cached_tokens: 90, image_tokens: 20 },
    })!
    expect(usage.imageInput).toBeUndefined()
    // 10 x 2.5 + 90 x 0.25 = 47.5, rounded up once: 48.
    expect(priceClasses(usage, prices({ cachedInputMicros: 250_000 }))).toEqual({
      input: 48,
      output: 0,
    })
  })
})
