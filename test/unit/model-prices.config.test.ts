import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.ts'
import { pricesFor } from '../../src/pipeline/estimate/weights.ts'

/** modelPrices per token class (docs/weights.md, "Prices per token class"): defaults and refusals. */
const env = { JWT_SECRET: 'x'.repeat(40) }

describe('modelPrices per token class', () => {
  it("defaults each class to its total's price, and takes the classes given", () => {
    const { config } = loadConfig({
      file: {
        modelPrices: {
          'claude-*': { input: 3, output: 15, cachedInput: '0.30', cacheWrite: '3.75' },
          'o3*': { input: 2, output: 8, reasoning: 12, audioOutput: 64, image: '2.5' },
        },
      },
      env,
    })
    expect(pricesFor(config, 'claude-sonnet-4-6')).toEqual({
      inputMicros: 3_000_000,
      outputMicros: 15_000_000,
      cachedInputMicros: 300_000,
      cacheWriteMicros: 3_750_000,
      audioInputMicros: 3_000_000,
      imageInputMicros: 3_000_000,
      reasoningMicros: 15_000_000,
      audioOutputMicros: 15_000_000,
    })
    expect(pricesFor(config, 'o3-mini')).toMatchObject({
      cachedInputMicros: 2_000_000,
      imageInputMicros: 2_500_000,
      reasoningMicros: 12_000_000,
      audioOutputMicros: 64_000_000,
    })
  })

  it('refuses a class price that is no positive decimal of at most 6 places, naming it', () => {
    for (const cachedInput of [0, '-1', '0.0000001', 'cheap']) {
      expect(() =>
        loadConfig({
          file: { modelPrices: { 'gpt-4o*': { input: 1, output: 1, cachedInput } } },
          env,
        }),
      ).toThrow(/modelPrices\.gpt-4o\*\.cachedInput/)
    }
    expect(() =>
      loadConfig({ file: { modelPrices: { 'gpt-4o*': { input: 1, output: 1, cached: 1 } } }, env }),
    ).toThrow(/cached/)
  })
})
