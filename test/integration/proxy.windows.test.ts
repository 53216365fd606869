import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/** A full rate window answers a retryable 429 (docs/quotas.md); a spent period quota does not. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] }

/** The gateway's own log line per answered call: how many attempts reached it. */
const attempts = (fixture: ProxyFixture) =>
  fixture.h.logs.filter((l) => l.msg === 'request' && l.route === '/v1/chat/completions').length

describe('rate windows over HTTP', () => {
  it('a full minute window: 429 rate_limit_exceeded with Retry-After and x-ratelimit-*, retried by the openai SDK', async () => {
    f = await startProxyFixture({
      plan: {
        quotas: { requests: 1000, tokens_input: null, tokens_output: null, requests_per_minute: 2 },
      },
    })
    // 59 s into the minute: the window frees in 1 s, which the SDK waits before its retry.
    f.h.clock.advance(59_000)
    const client = await f.client('rpm-user', { maxRetries: 1 })
    const answer = await client.chat.completions.create(chat).withResponse()
    expect(answer.response.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(answer.response.headers.get('x-ratelimit-remaining-requests')).toBe('1')
    expect(answer.response.headers.get('x-ratelimit-reset-requests')).toBe('1s')
    // The plan sets no tokens window: no -tokens headers.
    expect(answer.response.headers.get('x-ratelimit-limit-tokens')).toBeNull()
    await client.chat.completions.create(chat)
    const before = attempts(f)
    const error = await client.chat.completions.create(chat).catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.RateLimitError)
    const e = error as InstanceType<typeof OpenAI.RateLimitError>
    expect(e.error).toMatchObject({
      type: 'rate_limit_exceeded',
      code: 'rate_limit_exceeded',
      param: 'requests_per_minute',
    })
    expect(e.headers.get('retry-after')).toBe('1')
    expect(e.headers.get('x-should-retry')).toBeNull()
    expect(e.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(e.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(e.headers.get('x-ratelimit-reset-requests')).toBe('1s')
    // The SDK tried again (maxRetries 1): two attempts reached the gateway, not one.
    expect(attempts(f) - before).toBe(2)
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(2)
    const ledger = await f.ledger('rpm-user')
    expect(ledger.used.requests).toBe(2)
    expect(ledger.reservations).toBe(0)
  })

  it('a spent period quota (insufficient_quota) is not retried by the same client', async () => {
    f = await startProxyFixture({
      plan: {
        quotas: { requests: 1, tokens_input: null, tokens_output: null, requests_per_minute: 100 },
      },
    })
    const client = await f.client('spent-user', { maxRetries: 1 })
    await client.chat.completions.create(chat)
    const before = attempts(f)
    const error = await client.chat.completions.create(chat).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).error).toMatchObject({
      code: 'insufficient_quota',
    })
    expect(attempts(f) - before).toBe(1)
  })
})
