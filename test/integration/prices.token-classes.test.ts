import { afterEach, describe, expect, it } from 'vitest'
import { nowSeconds } from '../../src/lib/clock.ts'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { startMediaFixture } from '../helpers/media-fixture.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Prices per token class (docs/weights.md, "Prices per token class"): each class the upstream
 * reports costs its own price, the rest of its total the total's, rounded up once per total;
 * the cost lands in the usage row's cost_input_micros / cost_output_micros, and the margin
 * report sums exactly that.
 */
let f: ProxyFixture | AnthropicFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const PRICES = {
  // OpenAI's gpt-5 ratio: cached input at 0.1x; reasoning at the output's price (the default).
  'gpt-4o*': { input: '2.50', output: 10, cachedInput: '0.25' },
  // A reasoning price of its own, to show that it applies.
  'o3*': { input: 2, output: 8, reasoning: 12 },
  // Anthropic: cache reads 0.1x, 5-minute cache writes 1.25x the input price.
  'claude-*': { input: 3, output: 15, cachedInput: '0.30', cacheWrite: '3.75' },
}
const hi = { role: 'user' as const, content: 'hi' }

async function costs(fixture: ProxyFixture, userId: string) {
  await fixture.h.deps.pendingSettles.idle(5_000)
  const rows = await fixture.h.db
    .selectFrom('billing_usage')
    .select(['model_id', 'cost_input_micros', 'cost_output_micros'])
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute()
  return rows.map((r) => ({
    model: r.model_id,
    input: Number(r.cost_input_micros),
    output: Number(r.cost_output_micros),
  }))
}

/** The margin report's rows by model, cost only, over the hour starting at `from`. */
async function marginByModel(fixture: ProxyFixture, from: number) {
  const admin = await fixture.h.adminToken()
  const response = await fixture.h.json(
    'GET',
    `/api/v1/billing/admin/margin?from=${from}&to=${from + 3600}&group_by=model`,
    undefined,
    admin,
  )
  const text = await response.clone().text()
  expect(response.status, text).toBe(200)
  const body = (await response.json()) as {
    rows: { key: string; cost_micros: number; cost: string }[]
    totals: { cost_micros: number }
  }
  return {
    rows: body.rows.map((r) => ({ key: r.key, cost_micros: r.cost_micros, cost: r.cost })),
    total: body.totals.cost_micros,
  }
}

describe(`prices per token class (${TEST_DIALECT})`, () => {
  it('cached input costs the cached price, reasoning the output or reasoning price; the margin report sums it', async () => {
    const fixture = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 1_000_000, tokens_output: 1_000_000 } },
      config: { modelPrices: PRICES },
    })
    f = fixture
    const from = nowSeconds(fixture.h.clock)
    const chat = async (model: string, usage: Record<string, unknown>) => {
      fixture.upstream.behave({ rawUsage: usage })
      const response = await fixture.fetch('u1', '/v1/chat/completions', {
        method: 'POST',
        json: { model, messages: [hi], max_tokens: 400 },
      })
      expect(response.status, await response.clone().text()).toBe(200)
      await response.text()
    }
    await chat('gpt-4o', {
      prompt_tokens: 1000,
      completion_tokens: 300,
      total_tokens: 1300,
      prompt_tokens_details: { cached_tokens: 800, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 200, audio_tokens: 0 },
    })
    await chat('o3', {
      prompt_tokens: 100,
      completion_tokens: 300,
      total_tokens: 400,
      completion_tokens_details: { reasoning_tokens: 200 },
    })
    // gpt-4o: input 200 x 2.50 + 800 x 0.25 = 700 (2,500 all at the input price); output
    // 300 x 10 = 3,000, reasoning at the output's price. o3: input 100 x 2 = 200; output
    // 100 x 8 + 200 x 12 = 3,200 (2,400 all at the output price).
    expect(await costs(fixture, 'u1')).toEqual([
      { model: 'gpt-4o', input: 700, output: 3_000 },
      { model: 'o3', input: 200, output: 3_200 },
    ])
    expect(await marginByModel(fixture, from)).toEqual({
      rows: [
        { key: 'gpt-4o', cost_micros: 3_700, cost: '0.003700' },
        { key: 'o3', cost_micros: 3_400, cost: '0.003400' },
      ],
      total: 7_100,
    })
  })

  it('an Anthropic cache write and read through /v1/messages cost their prices; the margin report sums it', async () => {
    const fixture = await startAnthropicFixture({
      plan: { quotas: { requests: 100, tokens_input: 1_000_000, tokens_output: 1_000_000 } },
      config: { modelPrices: PRICES },
    })
    f = fixture
    const from = nowSeconds(fixture.h.clock)
    const client = await fixture.sdk('u1')
    for (const stream of [false, true]) {
      fixture.anthropic.once({
        usage: { input: 12, cacheWrite: 1024, cacheRead: 20_000, output: 87 },
      })
      const request = {
        model: 'claude-sonnet-4-6',
        max_tokens: 1024,
        messages: [{ role: 'user' as const, content: 'Hi' }],
      }
      if (stream) {
        for await (const _event of await client.messages.create({ ...request, stream: true })) {
          // read it all
        }
      } else await client.messages.create(request)
    }
    // input 12 x 3 + 20,000 x 0.30 + 1,024 x 3.75 = 36 + 6,000 + 3,840 = 9,876 (63,108 all at
    // the input price); output 87 x 15 = 1,305.
    const row = { model: 'claude-sonnet-4-6', input: 9_876, output: 1_305 }
    expect(await costs(fixture, 'u1')).toEqual([row, row])
    expect(await marginByModel(fixture, from)).toEqual({
      rows: [{ key: 'claude-sonnet-4-6', cost_micros: 22_362, cost: '0.022362' }],
      total: 22_362,
    })
  })

  it("a GPT image model's input image tokens cost the image price, its output the output price", async () => {
    const fixture = await startMediaFixture({
      config: { modelPrices: { 'gpt-image-1*': { input: 5, output: 40, image: 10 } } },
    })
    f = fixture
    // The fake reports input_tokens_details: { text_tokens: 10, image_tokens: 378 }.
    fixture.upstream.once({ usage: { input: 388, output: 4_160 } })
    const client = await fixture.client('u1')
    const answer = await client.images.generate({ model: 'gpt-image-1', prompt: 'a moon' })
    expect(answer.usage?.input_tokens, JSON.stringify(answer)).toBe(388)
    // input 10 x 5 + 378 x 10 = 3,830 (1,940 all at the input price); output 4,160 x 40.
    expect(await costs(fixture, 'u1')).toEqual([
      { model: 'gpt-image-1', input: 3_830, output: 166_400 },
    ])
  })

  it('without class prices every class costs its total price, as before the classes', async () => {
    const fixture = await startProxyFixture({
      config: { modelPrices: { 'gpt-4o*': { input: '2.50', output: 10 } } },
    })
    f = fixture
    fixture.upstream.behave({
      rawUsage: {
        prompt_tokens: 1002,
        completion_tokens: 301,
        prompt_tokens_details: { cached_tokens: 801, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 201, audio_tokens: 0 },
      },
    })
    const response = await fixture.fetch('u1', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o', messages: [hi], max_tokens: 400 },
    })
    expect(response.status, await response.clone().text()).toBe(200)
    // ceil(1,002 x 2.5) = 2,505 and 301 x 10 = 3,010: rounded once per total (per class, the
    // input would be ceil(201 x 2.5) + ceil(801 x 2.5) = 503 + 2,003 = 2,506).
    expect(await costs(fixture, 'u1')).toEqual([{ model: 'gpt-4o', input: 2_505, output: 3_010 }])
  })
})
