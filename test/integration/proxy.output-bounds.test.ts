import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * What one request may ask of the output quota (docs/quotas.md): the answers
 * it asks for are bounded by quota.maxAnswersPerRequest (a 400 above), its
 * output reserve by the plan's output limit, and the in-flight limit of a plan
 * that sets none is bounded by the schema's own default. Over HTTP through the
 * proxy, with the fake upstream.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }
const hi = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }

function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/** Sends `count` streams the upstream holds before their first content chunk; resolves with their responses. */
async function holdStreams(fixture: ProxyFixture, userId: string, count: number, body: object) {
  const held = gate()
  fixture.upstream.behave({ beforeChunk: () => held.opened })
  const responses = await Promise.all(
    Array.from({ length: count }, () =>
      fixture.fetch(userId, '/v1/chat/completions', {
        method: 'POST',
        json: { ...body, stream: true },
      }),
    ),
  )
  const finish = async () => {
    held.open()
    return Promise.all(responses.map((r) => r.text()))
  }
  return { responses, finish }
}

describe(`output bounds: answers per request and the plan (${TEST_DIALECT})`, () => {
  const refusals: Array<[string, string, object, string]> = [
    ['chat n 128', '/v1/chat/completions', { ...hi, n: 128, max_tokens: 16_384 }, 'n'],
    [
      'completions best_of 20',
      '/v1/completions',
      { model: 'gpt-3.5-turbo-instruct', prompt: 'hi', best_of: 20 },
      'best_of',
    ],
    [
      'completions 9 prompts',
      '/v1/completions',
      { model: 'gpt-3.5-turbo-instruct', prompt: Array(9).fill('hi') },
      'prompt',
    ],
    [
      'completions n 3 x 3 prompts',
      '/v1/completions',
      { model: 'gpt-3.5-turbo-instruct', prompt: ['a', 'b', 'c'], n: 3 },
      'prompt',
    ],
  ]
  for (const [name, path, body, param] of refusals) {
    it(`more answers than quota.maxAnswersPerRequest (8) is a 400 naming the parameter; nothing is reserved or sent: ${name}`, async () => {
      f = await startProxyFixture()
      const response = await f.fetch('greedy', path, { method: 'POST', json: body })
      const text = await response.text()
      expect(response.status, text).toBe(400)
      expect((JSON.parse(text) as ErrorBody).error, text).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        param,
      })
      expect(f.upstream.requests.length).toBe(0)
      const ledger = await f.ledger('greedy')
      expect(ledger.used).toEqual(nothing)
      expect(ledger.reserved).toEqual(nothing)
    })
  }

  it('8 held requests of n 8 x max_tokens 16,384 on a 1,000-token output plan hold at most 8 x 1,000 output tokens in flight, and each settles its usage', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 100_000, tokens_output: 1000 } },
    })
    const held = await holdStreams(f, 'wide', 8, { ...hi, n: 8, max_tokens: 16_384 })
    expect(held.responses.map((r) => r.status)).toEqual(Array(8).fill(200))
    const inFlight = await f.ledger('wide')
    expect(inFlight.reserved.requests).toBe(8)
    // Before: 8 x 8 x 16,384 = 1,048,576 reserved against a 1,000-token plan.
    expect(inFlight.reserved.tokens_output, JSON.stringify(inFlight)).toBe(8 * 1000)
    for (const text of await held.finish()) expect(text).toContain('[DONE]')
    const ledger = await f.settled('wide')
    expect(ledger.reserved).toEqual(nothing)
    expect(ledger.used).toMatchObject({ requests: 8, tokens_output: 8 * 7 })
  })

  it('an honest n 2 request on a plan with room is admitted, reserves 2 x max_tokens once, and is billed its usage', async () => {
    f = await startProxyFixture()
    const held = await holdStreams(f, 'honest', 1, { ...hi, n: 2, max_tokens: 500 })
    expect(held.responses[0]!.status).toBe(200)
    const inFlight = await f.ledger('honest')
    expect(inFlight.reserved.tokens_output, JSON.stringify(inFlight)).toBe(1000)
    expect(inFlight.reservations).toBe(1)
    await held.finish()
    const ledger = await f.settled('honest')
    expect(ledger.reserved).toEqual(nothing)
    expect(ledger.used).toMatchObject({ requests: 1, tokens_output: 7 })
  })

  it('the cap never turns an output ask into 0: a plan whose output limit is 0 still refuses chat', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 100_000, tokens_output: 0 } },
    })
    const response = await f.fetch('no-output', '/v1/chat/completions', {
      method: 'POST',
      json: hi,
    })
    const text = await response.text()
    expect(response.status, text).toBe(429)
    expect((JSON.parse(text) as ErrorBody).error.param, text).toBe('tokens_output')
    expect(f.upstream.requests.length).toBe(0)
  })

  it('a config without quota.defaultMaxConcurrentRequests is not unlimited: of 12 held requests 8 are admitted, 4 get the retryable 429', async () => {
    f = await startProxyFixture({
      // The shipped gateway.config.ts sets 8 itself; this removes it to test the schema's default.
      config: { quota: { defaultMaxConcurrentRequests: undefined } },
      plan: { quotas: { requests: 100, tokens_input: null, tokens_output: null } },
    })
    expect(f.h.deps.config.quota.defaultMaxConcurrentRequests).toBe(8)
    const held = await holdStreams(f, 'many', 12, hi)
    const statuses = held.responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200).length, String(statuses)).toBe(8)
    expect(f.upstream.requests.length).toBe(8)
    const texts = await held.finish()
    for (const [i, response] of held.responses.entries()) {
      if (response.status === 200) continue
      expect(response.status, texts[i]).toBe(429)
      expect((JSON.parse(texts[i]!) as ErrorBody).error.param).toBe('max_concurrent_requests')
    }
    expect((await f.settled('many')).used.requests).toBe(8)
  })
})
