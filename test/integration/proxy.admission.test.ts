import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { call } from '../helpers/billing.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Output admission that does not starve concurrency (docs/quotas.md): output
 * tokens are admitted while the settled output is under the limit, and the
 * overshoot that allows is bounded by max_concurrent_requests, refused with a
 * retryable 429. Over HTTP through the proxy, with the fake upstream.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }
const hi = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }

/** A small output quota (4,000) under the default output reserve (4,096): one reserve fills it. */
const smallOutput = (requests: number) => ({
  quotas: { requests, tokens_input: 100_000, tokens_output: 4000 },
})

async function post(fixture: ProxyFixture, userId: string, body: object = hi) {
  const response = await fixture.fetch(userId, '/v1/chat/completions', {
    method: 'POST',
    json: body,
  })
  const text = await response.text()
  return { response, text, status: response.status }
}

/** A gate a held upstream stream waits on before its first content chunk. */
function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe(`settled output admission (${TEST_DIALECT})`, () => {
  it('3 parallel requests from a user with 3 requests left and a small, mostly unused output quota all succeed', async () => {
    f = await startProxyFixture({ plan: smallOutput(4) })
    expect((await post(f, 'chat-ui')).status).toBe(200) // 7 output tokens used, 3 requests left
    f.upstream.behave({ latencyMs: 100 }) // all three in flight together
    const results = await Promise.all([1, 2, 3].map(() => post(f!, 'chat-ui')))
    expect(
      results.map((r) => r.status),
      results.map((r) => r.text).join('\n'),
    ).toEqual([200, 200, 200])
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(4)
    const ledger = await f.settled('chat-ui')
    expect(ledger.used).toMatchObject({ requests: 4, tokens_output: 28 })
    expect(ledger.reserved).toEqual(nothing)
    expect(ledger.reservations).toBe(0)
  })

  it('a burst of k + 12 admits exactly k, the refusals name requests (output never refuses first)', async () => {
    const k = 5 // 5 x 4,096 reserved against 4,000 output tokens: only the settled output counts
    f = await startProxyFixture({ plan: smallOutput(k) })
    f.upstream.behave({ latencyMs: 100 })
    const results = await Promise.all(Array.from({ length: k + 12 }, () => post(f!, 'burst')))
    const all = results.map((r) => `${r.status} ${r.text}`).join('\n')
    expect(results.filter((r) => r.status === 200).length, all).toBe(k)
    const refused = results.filter((r) => r.status !== 200)
    expect(refused.length, all).toBe(12)
    for (const { response, text, status } of refused) {
      expect(status, text).toBe(429)
      const { error } = JSON.parse(text) as ErrorBody
      expect(error, text).toMatchObject({ type: 'insufficient_quota', param: 'requests' })
      expect(response.headers.get('x-should-retry')).toBe('false')
    }
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(k)
    const ledger = await f.settled('burst')
    expect(ledger.used).toMatchObject({ requests: k, tokens_output: 7 * k })
    expect(ledger.reserved).toEqual(nothing)
  })

  it('admits output while the settled output is under the limit, then refuses tokens_output', async () => {
    f = await startProxyFixture({ plan: smallOutput(100) })
    f.upstream.behave({ latencyMs: 100, usage: { input: 10, output: 3000 } })
    // Both in flight together, on 0 settled: both admitted, 6,000 used of 4,000.
    const both = await Promise.all([post(f, 'heavy'), post(f, 'heavy')])
    for (const { status, text, response } of both) {
      expect(status, text).toBe(200)
      // 4,000 - 3,000 credited: each answer counts its own usage, not the other still in flight.
      expect(response.headers.get('x-quota-remaining-tokens-output')).toBe('1000')
    }
    expect((await f.settled('heavy')).used.tokens_output).toBe(6000)
    const third = await post(f, 'heavy')
    expect(third.status, third.text).toBe(429)
    expect((JSON.parse(third.text) as ErrorBody).error.param).toBe('tokens_output')
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(2)
  })

  it('outputAdmission "reserved" keeps the old rule: one reservation takes what remains, the others are refused', async () => {
    f = await startProxyFixture({
      plan: smallOutput(4),
      config: { quota: { outputAdmission: 'reserved' } },
    })
    f.upstream.behave({ latencyMs: 200 })
    const results = await Promise.all([1, 2, 3].map(() => post(f!, 'old-rule')))
    const all = results.map((r) => `${r.status} ${r.text}`).join('\n')
    expect(results.filter((r) => r.status === 200).length, all).toBe(1)
    for (const { response, text, status } of results.filter((r) => r.status !== 200)) {
      expect(status, text).toBe(429)
      expect((JSON.parse(text) as ErrorBody).error.param, text).toBe('tokens_output')
      expect(response.headers.get('x-should-retry')).toBe('false')
    }
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(1)
  })
})

describe(`max_concurrent_requests (${TEST_DIALECT})`, () => {
  /** Starts a stream the upstream holds before its first chunk; resolves once the gateway answered 200. */
  async function heldStream(fixture: ProxyFixture, userId: string) {
    const held = gate()
    fixture.upstream.once({ beforeChunk: (i) => (i === 0 ? held.opened : undefined) })
    const response = await fixture.fetch(userId, '/v1/chat/completions', {
      method: 'POST',
      json: { ...hi, stream: true },
    })
    expect(response.status).toBe(200)
    const finish = async () => {
      held.open()
      return response.text()
    }
    return { response, finish }
  }

  it('with 2 in flight the third gets a retryable 429; when one ends a new one is admitted; nothing stays reserved', async () => {
    f = await startProxyFixture({
      plan: {
        quotas: {
          requests: 100,
          tokens_input: null,
          tokens_output: null,
          max_concurrent_requests: 2,
        },
      },
    })
    const first = await heldStream(f, 'busy')
    const second = await heldStream(f, 'busy')
    expect((await f.ledger('busy')).reserved.requests).toBe(2)

    const third = await post(f, 'busy')
    expect(third.status, third.text).toBe(429)
    expect(JSON.parse(third.text), third.text).toMatchObject({
      error: {
        type: 'rate_limit_exceeded',
        code: 'rate_limit_exceeded',
        param: 'max_concurrent_requests',
      },
    })
    expect(third.response.headers.get('retry-after')).toBe('1')
    expect(third.response.headers.get('x-should-retry')).toBeNull()
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(2)

    expect(await first.finish()).toContain('[DONE]')
    await until(
      async () => (await f!.ledger('busy')).reserved.requests === 1,
      'the first to settle',
    )
    const fourth = await post(f, 'busy')
    expect(fourth.status, fourth.text).toBe(200)
    expect(await second.finish()).toContain('[DONE]')

    const ledger = await f.settled('busy')
    expect(ledger.reserved).toEqual(nothing)
    expect(ledger.reservations).toBe(0)
    expect(ledger.used.requests).toBe(3)
  })

  it('a plan without its own limit takes quota.defaultMaxConcurrentRequests; the plan API shows the limit in force', async () => {
    f = await startProxyFixture({ config: { quota: { defaultMaxConcurrentRequests: 1 } } })
    const first = await heldStream(f, 'solo')
    const second = await post(f, 'solo')
    expect(second.status, second.text).toBe(429)
    expect((JSON.parse(second.text) as ErrorBody).error.code).toBe('rate_limit_exceeded')
    await first.finish()
    expect((await f.settled('solo')).reserved).toEqual(nothing)

    const plans = await (await fetch(`${f.base}/api/v1/billing/plans`)).json()
    const plan = (plans as Array<{ id: string; quotas: object }>).find((p) => p.id === 'test')
    expect(plan?.quotas, JSON.stringify(plans)).toMatchObject({ max_concurrent_requests: 1 })
  })

  it('admins set max_concurrent_requests per plan: a positive integer or null (unlimited), 0 is a 400', async () => {
    f = await startProxyFixture({ config: { quota: { defaultMaxConcurrentRequests: 4 } } })
    const admin = await f.h.adminToken()
    const plans = '/api/v1/billing/plans'
    const create = (quotas: object) =>
      call(f!.h, 'POST', plans, { name: 'c', price: 1, quotas }, admin)
    const zero = await create({ requests: 10, max_concurrent_requests: 0 })
    expect(zero.status, zero.text).toBe(400)
    expect(zero.body.error.param).toContain('quotas.max_concurrent_requests')

    const own = await create({ requests: 10, max_concurrent_requests: 3 })
    expect(own.body.quotas, own.text).toEqual({
      requests: 10,
      tokens_input: null,
      tokens_output: null,
      max_concurrent_requests: 3,
    })
    const patch = (quotas: object) =>
      call(f!.h, 'PATCH', `${plans}/${own.body.id}`, { quotas }, admin)
    const patched = await patch({ requests: 20 })
    expect(patched.body.quotas, patched.text).toMatchObject({
      requests: 20,
      max_concurrent_requests: 3,
    })
    const lifted = await patch({ max_concurrent_requests: null })
    expect(lifted.body.quotas, lifted.text).toMatchObject({
      requests: 20,
      max_concurrent_requests: null,
    })
    const defaulted = await create({ requests: 10 })
    expect(defaulted.body.quotas.max_concurrent_requests, defaulted.text).toBe(4)
  })
})
