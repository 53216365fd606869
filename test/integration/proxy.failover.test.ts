import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  expectBilledExactly,
  type ProxyFixture,
  startProxyFixture,
  UPSTREAM_KEY,
} from '../helpers/proxy-fixture.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * One model served by four deployments in priority order: `flaky` (5xx and connection resets),
 * `limited` (429 with retry-after-ms), `broke` (the operator's insufficient_quota) and the
 * healthy default. Failover happens before the first byte only, the request is billed once by
 * the attempt that answered, keys rest and come back on the test clock, and the payer never
 * sees an upstream's body.
 */
let f: ProxyFixture
let flaky: FakeUpstream
let limited: FakeUpstream
let broke: FakeUpstream
const SECOND_KEY = 'sk-upstream-second-key-987654'
const COOLDOWN_MS = 1_000
const RECHECK_MS = 30_000

const RATE_LIMITED = {
  status: 429,
  headers: { 'retry-after-ms': '2500', 'x-ratelimit-limit-tokens': '30000' },
  errorBody: {
    error: {
      message:
        'Rate limit reached for gpt-4o-mini in organization org-LIMITED42 on tokens per min (TPM): Limit 30000, Used 29990',
      type: 'tokens',
      code: 'rate_limit_exceeded',
    },
  },
}
const OUT_OF_CREDIT = {
  status: 429,
  errorBody: {
    error: {
      message:
        'You exceeded your current quota, please check your plan and billing details (org-BROKE77).',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    },
  },
}
const OVERLOADED = { status: 503, errorBody: { error: { message: 'overloaded: proj-FLAKY13' } } }
const UPSTREAM_TEXT = ['org-LIMITED42', 'org-BROKE77', 'proj-FLAKY13', 'TPM', 'exceeded your']

beforeAll(async () => {
  flaky = await startFakeUpstream()
  limited = await startFakeUpstream()
  broke = await startFakeUpstream()
  f = await startProxyFixture({
    config: {
      upstreams: [
        {
          name: 'default',
          baseUrl: 'http://127.0.0.1:9/v1',
          apiKeyEnvs: ['UPSTREAM_API_KEY', 'UPSTREAM_API_KEY_2'],
        },
        { name: 'flaky', baseUrl: flaky.url, models: [] },
        { name: 'limited', baseUrl: limited.url, models: [] },
        { name: 'broke', baseUrl: broke.url, models: [] },
      ],
      routes: [
        {
          model: 'gpt-4o-mini',
          deployments: [
            { upstream: 'flaky', priority: 0 },
            { upstream: 'limited', priority: 1 },
            { upstream: 'broke', priority: 2 },
            { upstream: 'default', priority: 3, model: 'gpt-4o-mini-2024-07-18' },
          ],
        },
        {
          model: 'gpt-4o',
          deployments: [{ upstream: 'limited' }, { upstream: 'flaky' }],
        },
      ],
      failover: {
        maxAttempts: 4,
        cooldownMs: COOLDOWN_MS,
        maxCooldownMs: 10_000,
        recheckMs: RECHECK_MS,
      },
    },
    harness: {
      env: {
        UPSTREAM_API_KEY_2: SECOND_KEY,
        // Recorded in the outbox only: nothing listens there, and no delivery runs in these tests.
        NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/operator-hooks',
        NOTIFY_WEBHOOK_SECRET: 'whsec-failover-test-0123456789',
      },
    },
  })
})
afterAll(async () => {
  await f?.close()
  for (const fake of [flaky, limited, broke]) await fake?.close()
})
beforeEach(() => {
  // Every rest of the previous test is over (the recheck included).
  f.h.clock.advance(RECHECK_MS + 1)
  for (const fake of [f.upstream, flaky, limited, broke]) fake.reset()
})

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] }
const post = (userId: string, json: unknown = chat) =>
  f.fetch(userId, '/v1/chat/completions', { method: 'POST', json })
const paths = (fake: FakeUpstream) => fake.requestsTo('/v1/chat/completions').length

async function metric(name: string): Promise<string> {
  const response = await f.h.request('/metrics', { headers: f.h.auth(await f.h.adminToken()) })
  return (await response.text())
    .split('\n')
    .filter((line) => line.startsWith(name))
    .join('\n')
}

function expectNoUpstreamText(text: string) {
  for (const secret of UPSTREAM_TEXT) expect(text, text).not.toContain(secret)
}

describe('failover before the first byte', () => {
  it('tries every deployment in priority order and bills the one that answered, once', async () => {
    flaky.once({ reset: true })
    limited.once(RATE_LIMITED)
    broke.once(OUT_OF_CREDIT)
    const response = await post('fo-chain')
    const text = await response.text()
    expect(response.status, text).toBe(200)
    expectNoUpstreamText(text)
    expect([paths(flaky), paths(limited), paths(broke), paths(f.upstream)]).toEqual([1, 1, 1, 1])
    // The deployment's own model name went to the default upstream; the client sees its own.
    expect(f.upstream.requests[0]!.body?.model).toBe('gpt-4o-mini-2024-07-18')
    expect(response.headers.get('retry-after')).toBeNull()
    expectBilledExactly(await f.settled('fo-chain'), 12, 7)
    // The operator's log keeps each upstream's body; the key never.
    expect(f.h.logText()).toContain('org-LIMITED42')
    expect(f.h.logText()).toContain('org-BROKE77')
    expect(f.h.logText()).not.toContain(UPSTREAM_KEY)
    expect(await metric('gateway_upstream_operator_alerts_total')).toContain(
      'upstream="broke",key="UPSTREAM_API_KEY",reason="credit"} 1',
    )
    expect(await metric('gateway_upstream_failures_total')).toMatch(
      /upstream="flaky",key="UPSTREAM_API_KEY",kind="connect"} 1/,
    )
  })

  it('never fails over once the stream has started: the client gets the error event, billed what it got', async () => {
    flaky.once({ chunks: 6, resetAfterChunks: 2 })
    const response = await post('fo-stream', { ...chat, stream: true })
    const text = await response.text()
    expect(response.status).toBe(200)
    expect(text.trimEnd().split('\n\n').at(-1), text).toContain('upstream_error')
    expect([paths(flaky), paths(limited), paths(broke), paths(f.upstream)]).toEqual([1, 0, 0, 0])
    const ledger = await f.settled('fo-stream')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
    expect(ledger.reservations).toBe(0)
  })

  it('a resting key is skipped until its rest ends, then serves again', async () => {
    flaky.once(OVERLOADED)
    limited.once(RATE_LIMITED)
    expect((await post('fo-rest')).status).toBe(200)
    expect([paths(flaky), paths(limited), paths(broke)]).toEqual([1, 1, 1])
    // flaky and limited rest: broke, next in line, answers at once.
    expect((await post('fo-rest')).status).toBe(200)
    expect([paths(flaky), paths(limited), paths(broke)]).toEqual([1, 1, 2])
    // flaky's cooldown is over (it fails again), limited's retry-after-ms (2.5 s) is not.
    f.h.clock.advance(COOLDOWN_MS + 1)
    flaky.once(OVERLOADED)
    expect((await post('fo-rest')).status).toBe(200)
    expect([paths(flaky), paths(limited), paths(broke)]).toEqual([2, 1, 3])
    // limited is back once its retry-after-ms has passed; flaky's second rest (2 s) too.
    flaky.once(OVERLOADED)
    f.h.clock.advance(2_500)
    expect((await post('fo-rest')).status).toBe(200)
    expect([paths(flaky), paths(limited), paths(broke)]).toEqual([3, 2, 3])
    expect(paths(f.upstream)).toBe(0)
    const ledger = await f.settled('fo-rest')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(4)
    expect(await metric('gateway_upstream_cooldowns_total')).toContain(
      'upstream="limited",key="UPSTREAM_API_KEY",reason="rate_limited"}',
    )
  })

  it("the operator's webhook is recorded once per refused key and rest, never with the key or the upstream's text", async () => {
    await f.h.db.deleteFrom('outbox_event').execute()
    flaky.behave(OVERLOADED)
    limited.behave(RATE_LIMITED)
    broke.once(OUT_OF_CREDIT)
    expect((await post('fo-alert')).status).toBe(200)
    expect((await post('fo-alert')).status).toBe(200)
    const alerts = async () =>
      (await f.h.db.selectFrom('outbox_event').selectAll().execute()).filter(
        (e) => e.audience === 'operator',
      )
    await expect.poll(async () => (await alerts()).length).toBe(1)
    const [alert] = await alerts()
    expect(alert?.type).toBe('upstream.key_refused')
    expect(JSON.parse(alert!.body).data).toEqual({
      upstream: 'broke',
      key: 'UPSTREAM_API_KEY',
      reason: 'credit',
      status: 429,
    })
    expectNoUpstreamText(alert!.body)
    expect(alert!.body).not.toContain(UPSTREAM_KEY)
    // After the recheck, refused again: a new alert.
    f.h.clock.advance(RECHECK_MS + 1)
    broke.once(OUT_OF_CREDIT)
    expect((await post('fo-alert')).status).toBe(200)
    await expect.poll(async () => (await alerts()).length).toBe(2)
  })

  it('a refused key stays out of rotation until the recheck', async () => {
    flaky.behave(OVERLOADED)
    limited.behave(RATE_LIMITED)
    broke.once(OUT_OF_CREDIT)
    expect((await post('fo-refused')).status).toBe(200)
    f.h.clock.advance(RECHECK_MS - 1)
    limited.reset()
    limited.behave(RATE_LIMITED)
    expect((await post('fo-refused')).status).toBe(200)
    expect(paths(broke)).toBe(1)
    f.h.clock.advance(2)
    expect((await post('fo-refused')).status).toBe(200)
    expect(paths(broke)).toBe(2)
  })
})

describe('errors that say whose fault', () => {
  it('every deployment resting: 429 rate_limit_exceeded with Retry-After, nothing sent, nothing billed', async () => {
    limited.once(RATE_LIMITED)
    flaky.once(OVERLOADED)
    const first = await post('fo-busy', { ...chat, model: 'gpt-4o' })
    const body = (await first.json()) as ErrorBody
    expect(first.status, JSON.stringify(body)).toBe(429)
    expect(body.error.code).toBe('rate_limit_exceeded')
    expectNoUpstreamText(JSON.stringify(body))
    // flaky rests 1 s, limited 2.5 s: the sooner one is what the client may wait for.
    expect(first.headers.get('retry-after')).toBe('1')
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBeNull()
    const again = await post('fo-busy', { ...chat, model: 'gpt-4o' })
    expect(again.status).toBe(429)
    expect([paths(limited), paths(flaky)]).toEqual([1, 1])
    const ledger = await f.settled('fo-busy')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
    expect(ledger.reservations).toBe(0)
  })

  it("the operator's empty account or refused key is 503 upstream_unavailable, never insufficient_quota", async () => {
    flaky.once(OVERLOADED)
    limited.once({ status: 401, errorBody: { error: { message: 'Incorrect API key sk-lim***' } } })
    broke.once(OUT_OF_CREDIT)
    f.upstream.behave({ status: 403, errorBody: { error: { message: 'org-LIMITED42 blocked' } } })
    const response = await post('fo-down')
    const text = await response.text()
    expect(response.status, text).toBe(503)
    expect(JSON.parse(text).error).toMatchObject({ code: 'upstream_unavailable' })
    expect(text).not.toContain('insufficient_quota')
    expect(text).not.toContain('sk-lim')
    expectNoUpstreamText(text)
    expect(f.h.logText()).not.toContain('sk-lim***')
    // The operator hears of it (notify.ts), once a minute, not once a request.
    const unavailable = () =>
      f.h.db
        .selectFrom('outbox_event')
        .selectAll()
        .where('type', '=', 'upstream.unavailable')
        .execute()
    await expect.poll(async () => (await unavailable()).length).toBe(1)
    expectNoUpstreamText((await unavailable())[0]!.body)
    const ledger = await f.settled('fo-down')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
    expect(ledger.reservations).toBe(0)
  })

  it('a 400 for the client’s own request passes through and is not retried elsewhere', async () => {
    const errorBody = { error: { message: 'messages is bad', type: 'invalid_request_error' } }
    flaky.once({ status: 400, errorBody })
    const response = await post('fo-400')
    expect(response.status).toBe(400)
    expect(await response.text()).toBe(JSON.stringify(errorBody))
    expect([paths(flaky), paths(limited), paths(broke), paths(f.upstream)]).toEqual([1, 0, 0, 0])
  })
})

describe('the operator sees it', () => {
  it("/admin's health lists each key: resting and why, its counts, never the key", async () => {
    limited.once(RATE_LIMITED)
    broke.once(OUT_OF_CREDIT)
    flaky.once(OVERLOADED)
    expect((await post('fo-health')).status).toBe(200)
    const admin = await signInWeb(f.h, f.base, 'ops', { role: 'admin' })
    const html = await admin.page('/admin/health')
    const text = textOf(html)
    expect(text).toMatch(/limited UPSTREAM_API_KEY rate_limited, back in 3 s \d+ requests/)
    expect(text).toMatch(/broke UPSTREAM_API_KEY refused, back in 30 s/)
    expect(text).toMatch(/flaky UPSTREAM_API_KEY failing, back in 1 s .* server_error \d+/)
    expect(text).toMatch(/default UPSTREAM_API_KEY_2 in rotation/)
    expect(html).not.toContain(SECOND_KEY)
    expect(html).not.toContain(UPSTREAM_KEY)
  })
})

describe('a pool of keys', () => {
  it('a key the upstream refuses is left for the next key of the same upstream', async () => {
    const onlyDefault = { ...chat, model: 'gpt-3.5-turbo' }
    f.upstream.once({ status: 401 })
    expect((await post('fo-pool', onlyDefault)).status).toBe(200)
    for (let i = 0; i < 4; i++) expect((await post('fo-pool', onlyDefault)).status).toBe(200)
    const keys = f.upstream.requests.map((r) => r.headers.authorization)
    const good = keys[1]
    expect(keys[0]).not.toBe(good)
    expect(new Set(keys)).toEqual(new Set([`Bearer ${UPSTREAM_KEY}`, `Bearer ${SECOND_KEY}`]))
    expect(keys.slice(1)).toEqual(Array(5).fill(good))
    const ledger = await f.settled('fo-pool')
    expect(ledger.used.requests).toBe(5)
  })
})
