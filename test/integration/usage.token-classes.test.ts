import { afterEach, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Token classes (docs/metering.md, docs/weights.md): read from the upstream's usage in every
 * dialect, weighed each at its own weight, kept on the request's one usage row, shown by the
 * usage API and /me.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

/** Classes at their own weights; the totals' weights differ, so a class billed at its total's shows. */
const WEIGHTS = {
  // Anthropic's price ratios (cache reads 0.1, writes 1.25); the test's upstream stands in for it.
  'gpt-4o-mini*': { input: 1, output: 1, cachedInput: '0.1', cacheWrite: '1.25' },
  'gpt-4o*': { input: 2, output: 4, cachedInput: '0.5', cacheWrite: '1.25', reasoning: 8 },
}
const hi = { role: 'user' as const, content: 'hi' }

async function start() {
  f = await startProxyFixture({
    plan: { quotas: { requests: 100, tokens_input: 1_000_000, tokens_output: 1_000_000 } },
    config: { modelWeights: WEIGHTS },
  })
  return f
}

async function usageRows(fixture: ProxyFixture, userId: string) {
  await fixture.h.deps.pendingSettles.idle(5_000)
  const rows = await fixture.h.db
    .selectFrom('billing_usage')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute()
  return rows.map((r) => ({
    counted: [Number(r.requests), Number(r.tokens_input), Number(r.tokens_output)],
    raw: [Number(r.raw_input), Number(r.raw_output)],
    classes: {
      cached_input: Number(r.cached_input),
      cache_write: Number(r.cache_write),
      audio_input: Number(r.audio_input),
      reasoning: Number(r.reasoning),
      audio_output: Number(r.audio_output),
      image_tokens: Number(r.image_tokens),
    },
  }))
}

const none = {
  cached_input: 0,
  cache_write: 0,
  audio_input: 0,
  reasoning: 0,
  audio_output: 0,
  image_tokens: 0,
}

describe(`token classes (${TEST_DIALECT})`, () => {
  it('a cached-token chat answer is billed at the cached weight, reasoning at its own; one usage row per request', async () => {
    const fixture = await start()
    fixture.upstream.behave({
      rawUsage: {
        prompt_tokens: 1000,
        completion_tokens: 300,
        total_tokens: 1300,
        prompt_tokens_details: { cached_tokens: 800, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 200, audio_tokens: 0 },
      },
    })
    for (const stream of [false, true]) {
      const response = await fixture.fetch('u1', '/v1/chat/completions', {
        method: 'POST',
        json: {
          model: 'gpt-4o',
          messages: [hi],
          max_tokens: 400,
          ...(stream && { stream: true, stream_options: { include_usage: true } }),
        },
      })
      expect(response.status, await response.clone().text()).toBe(200)
      await response.text()
    }
    // input: 200 x 2 + 800 x 0.5 = 800; output: 100 x 4 + 200 x 8 = 2,000 (all at the totals' weights:
    // 2,000 and 1,200).
    const ledger = await fixture.ledger('u1')
    expect(ledger.used).toEqual({ requests: 2, tokens_input: 1_600, tokens_output: 4_000 })
    const row = { counted: [1, 800, 2_000], raw: [1000, 300] }
    expect(await usageRows(fixture, 'u1')).toEqual([
      { ...row, classes: { ...none, cached_input: 800, reasoning: 200 } },
      { ...row, classes: { ...none, cached_input: 800, reasoning: 200 } },
    ])
  })

  it('a cached-token Responses answer is billed at the cached weight', async () => {
    const fixture = await start()
    fixture.upstream.behave({
      rawUsage: {
        input_tokens: 500,
        input_tokens_details: { cached_tokens: 400, cache_write_tokens: 40 },
        output_tokens: 90,
        output_tokens_details: { reasoning_tokens: 64 },
        total_tokens: 590,
      },
    })
    const response = await fixture.fetch('u1', '/v1/responses', {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'hi', max_output_tokens: 200 },
    })
    expect(response.status, await response.clone().text()).toBe(200)
    // input: 60 x 2 + 400 x 0.5 + 40 x 1.25 = 370; output: 26 x 4 + 64 x 8 = 616.
    expect((await fixture.ledger('u1')).used).toEqual({
      requests: 1,
      tokens_input: 370,
      tokens_output: 616,
    })
    expect(await usageRows(fixture, 'u1')).toEqual([
      {
        counted: [1, 370, 616],
        raw: [500, 90],
        classes: { ...none, cached_input: 400, cache_write: 40, reasoning: 64 },
      },
    ])
  })

  it('an Anthropic-shaped usage counts its cache reads and writes, apart from its input_tokens, at their weights', async () => {
    const fixture = await start()
    fixture.upstream.behave({
      rawUsage: {
        input_tokens: 12,
        cache_creation_input_tokens: 1024,
        cache_read_input_tokens: 20_000,
        output_tokens: 87,
      },
    })
    const response = await fixture.fetch('u1', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o-mini', messages: [hi], max_tokens: 200 },
    })
    expect(response.status, await response.clone().text()).toBe(200)
    // 12 + 20,000 x 0.1 + 1,024 x 1.25 = 3,292.
    expect((await fixture.ledger('u1')).used).toEqual({
      requests: 1,
      tokens_input: 3_292,
      tokens_output: 87,
    })
    expect(await usageRows(fixture, 'u1')).toEqual([
      {
        counted: [1, 3_292, 87],
        raw: [21_036, 87],
        classes: { ...none, cached_input: 20_000, cache_write: 1024 },
      },
    ])
  })

  it('the usage API and /me report the classes of the period, reasoning included', async () => {
    const fixture = await start()
    fixture.upstream.behave({
      rawUsage: {
        prompt_tokens: 50,
        completion_tokens: 40,
        prompt_tokens_details: { cached_tokens: 30, audio_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 25, audio_tokens: 3 },
      },
    })
    for (let i = 0; i < 2; i++) {
      const response = await fixture.fetch('u1', '/v1/chat/completions', {
        method: 'POST',
        json: { model: 'gpt-4o', messages: [hi], max_tokens: 100 },
      })
      expect(response.status, await response.clone().text()).toBe(200)
    }
    const token = await fixture.token('u1')
    const get = async (path: string) => {
      const response = await fixture.h.json('GET', path, undefined, token)
      expect(response.status, await response.clone().text()).toBe(200)
      return (await response.json()) as Record<string, unknown>
    }
    const output = await get('/api/v1/billing/usage/tokens_output')
    expect(output.token_classes, JSON.stringify(output)).toEqual({ reasoning: 50, audio_output: 6 })
    const input = await get('/api/v1/billing/usage/tokens_input')
    expect(input.token_classes, JSON.stringify(input)).toEqual({
      cached_input: 60,
      cache_write: 0,
      audio_input: 10,
    })
    expect((await get('/api/v1/billing/usage/requests')).token_classes).toBeUndefined()
    const me = await get('/api/v1/billing/me')
    expect(me.token_classes, JSON.stringify(me)).toEqual({
      ...none,
      cached_input: 60,
      audio_input: 10,
      reasoning: 50,
      audio_output: 6,
    })
  })
})
