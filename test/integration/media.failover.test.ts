import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import { startMediaFixture } from '../helpers/media-fixture.ts'
import type { ProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * A media call that no upstream answers gets the text proxy's answers
 * (proxy.errors and proxy.failover tests): an upstream's 5xx is a 502 naming
 * its status, a timeout a 504, every deployment resting a 429 with
 * Retry-After; never the upstream's body, and nothing billed.
 */
let f: ProxyFixture
let limited: FakeUpstream
const COOLDOWN_MS = 1_000
const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }
/** What the fake's media routes say when told to fail (fake-upstream.media.ts). */
const UPSTREAM_TEXT = 'fake upstream refused'

beforeAll(async () => {
  limited = await startFakeUpstream()
  f = await startMediaFixture({
    config: {
      // UPSTREAM_BASE_URL (the fake) replaces the default's base URL; a short headers timeout.
      upstreams: [
        { name: 'default', baseUrl: 'http://127.0.0.1:9/v1', headersTimeoutMs: 300 },
        { name: 'limited', baseUrl: limited.url, models: [] },
      ],
      routes: [
        {
          model: 'dall-e-3',
          deployments: [{ upstream: 'limited' }, { upstream: 'default', priority: 1 }],
        },
      ],
      failover: { cooldownMs: COOLDOWN_MS },
    },
  })
})
afterAll(async () => {
  await f?.close()
  await limited?.close()
})
beforeEach(() => {
  // Every key's rest from the previous test is over.
  f.h.clock.advance(60_000)
  f.upstream.reset()
  limited.reset()
})

const image = (model: string) => ({ model, prompt: 'a lighthouse', size: '1024x1024' })
async function generate(userId: string, model: string) {
  const response = await f.fetch(userId, '/v1/images/generations', {
    method: 'POST',
    json: image(model),
  })
  const text = await response.text()
  return { response, text, body: JSON.parse(text) as ErrorBody }
}

async function expectNothingBilled(userId: string) {
  const ledger = await f.settled(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual(nothing)
  expect(ledger.reservations).toBe(0)
}

describe('a media call no upstream answers', () => {
  it("an upstream 5xx is a 502 naming its status, without the upstream's body", async () => {
    f.upstream.once({ status: 503 })
    const { response, text, body } = await generate('mf-503', 'dall-e-2')
    expect(response.status, text).toBe(502)
    expect(body.error).toMatchObject({
      code: 'upstream_error',
      message: 'The upstream answered 503',
    })
    expect(text).not.toContain(UPSTREAM_TEXT)
    await expectNothingBilled('mf-503')
  })

  it('an upstream that never answers is a 504 after the headers timeout', async () => {
    f.upstream.once({ latencyMs: 1_000 })
    const { response, text, body } = await generate('mf-timeout', 'dall-e-2')
    expect(response.status, text).toBe(504)
    expect(body.error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' })
    await expectNothingBilled('mf-timeout')
  })

  it('every deployment resting: 429 rate_limit_exceeded with Retry-After', async () => {
    limited.once({ status: 429 })
    f.upstream.once({ status: 503 })
    const { response, text, body } = await generate('mf-busy', 'dall-e-3')
    expect(response.status, text).toBe(429)
    expect(body.error.code).toBe('rate_limit_exceeded')
    // Both rest the cooldown (the fake's 429 says no retry-after): what the client may wait for.
    expect(response.headers.get('retry-after')).toBe('1')
    expect(text).not.toContain(UPSTREAM_TEXT)
    await expectNothingBilled('mf-busy')
  })
})
