import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { counterForModel } from '../../src/pipeline/estimate/tokenizer.ts'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { png } from '../helpers/media.ts'

/**
 * What a Messages request reserves before it goes upstream (docs/estimation.md,
 * "Anthropic Messages"): the whole body's text (system, messages, tools), an
 * image by its pixels and a PDF by its size, never their base64 as text; the
 * output as max_tokens, or the thinking budget when that is larger. Read from
 * the ledger while the upstream holds the answer.
 */
let f: AnthropicFixture
beforeAll(async () => {
  f = await startAnthropicFixture()
})
afterAll(async () => {
  await f?.close()
})

const MODEL = 'claude-sonnet-4-6'

/** Sends the body, reads the user's reservation while the upstream holds its answer, then lets it end. */
async function reservedFor(user: string, body: Record<string, unknown>) {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let reached: () => void = () => {}
  const upstreamReached = new Promise<void>((resolve) => {
    reached = resolve
  })
  f.anthropic.once({
    beforeDelta: () => {
      reached()
      return held
    },
  })
  const answered = f.fetch(user, '/v1/messages', {
    method: 'POST',
    json: { ...body, stream: true },
  })
  await upstreamReached
  const ledger = await f.ledger(user)
  release()
  await (await answered).text()
  return ledger.reserved
}

describe('the reservation of a Messages request', () => {
  it('an image costs its pixels (~w*h/750), not its base64; a PDF its decoded size plus a page image', async () => {
    const image = png(1000, 1000, 200_000).toString('base64')
    const pdf = Buffer.alloc(3000, 0x41).toString('base64')
    const text = 'Describe both.'
    const reserved = await reservedFor('media-user', {
      model: MODEL,
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } },
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: pdf },
            },
            { type: 'text', text },
          ],
        },
      ],
    })
    const media = Math.ceil(1_000_000 / 750) + 3000 + 4784
    expect(reserved.tokens_input, JSON.stringify(reserved)).toBeGreaterThanOrEqual(media)
    // The 270 KB of base64 counted as text would be tens of thousands more.
    expect(reserved.tokens_input).toBeLessThan(media + 200)
    expect(reserved.tokens_output).toBe(100)
  })

  it('system, messages and tools all count', async () => {
    const long = 'The quick brown fox jumps over the lazy dog. '.repeat(40)
    const base = { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }
    const bare = (await reservedFor('parts-user', base)).tokens_input
    const withSystem = (
      await reservedFor('parts-user', { ...base, system: [{ type: 'text', text: long }] })
    ).tokens_input
    const withTools = (
      await reservedFor('parts-user', {
        ...base,
        tools: [{ name: 'fox', description: long, input_schema: { type: 'object' } }],
      })
    ).tokens_input
    const longTokens = counterForModel(MODEL)(long)
    expect(withSystem - bare).toBeGreaterThanOrEqual(longTokens)
    expect(withTools - bare).toBeGreaterThanOrEqual(longTokens)
  })

  it('the output reserve is max_tokens, or the thinking budget when larger (interleaved thinking)', async () => {
    const base = { model: MODEL, messages: [{ role: 'user', content: 'Think.' }] }
    const within = await reservedFor('thinking-user', {
      ...base,
      max_tokens: 8000,
      thinking: { type: 'enabled', budget_tokens: 4000 },
    })
    expect(within.tokens_output).toBe(8000)
    const beyond = await reservedFor('thinking-user', {
      ...base,
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 16_000 },
    })
    expect(beyond.tokens_output).toBe(16_000)
    // A body past 64 KiB is estimated in the worker: its lean form keeps the thinking budget.
    const large = await reservedFor('thinking-user', {
      ...base,
      system: 'x '.repeat(50_000),
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 16_000 },
    })
    expect(large.tokens_output).toBe(16_000)
  })
})
