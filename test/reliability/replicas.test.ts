import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import {
  type FakeYooKassa,
  startFakeYooKassa,
  WEBHOOK_PATH,
  yookassaEnv,
} from '../helpers/fake-yookassa.ts'
import { type Checkout, postCheckout } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import {
  type Answer,
  type Cluster,
  chat,
  planConfig,
  sleep,
  startCluster,
  untilNothingReserved,
} from './cluster.ts'

/**
 * Three gateway processes (RELIABILITY_REPLICAS) on one database (a PostgreSQL schema, or one SQLite
 * file) behind a round-robin client:
 * - a burst of 300 requests against a quota of 40 admits exactly 40, whichever
 *   replica each one reaches;
 * - a plan's max_concurrent_requests (4) holds across them: 30 streams at
 *   once, 4 reach the upstream, 26 get the retryable 429;
 * - a plan edit (admin API) or a payment (a notification from YooKassa) made on
 *   one replica is in force on the others within the entitlement cache time
 *   (billing.entitlementCacheMs, docs/metering.md "Caches between replicas").
 * Every test ends with the audit over everything the cluster has served so far.
 */
/** The documented cache time: the schema's default, which the cluster runs with. */
const CACHE_MS = configSchema.parse({}).billing.entitlementCacheMs
/**
 * The bound on how long a replica may apply the old plan or subscription. Each replica's
 * entry was loaded by a request answered before the change was made, so it expires less
 * than CACHE_MS after the change (100 ms for timer rounding): every request sent later
 * must see the change.
 */
const BOUND_MS = CACHE_MS + 100
/** 3 by default; the CI profile runs 2 (`npm run test:reliability -- --ci`). */
const REPLICAS = Number(process.env.RELIABILITY_REPLICAS ?? 3)
const IN_FLIGHT = 4
const BURST_QUOTA = 40

describe(`reliability: ${REPLICAS} replicas, one database (${TEST_DIALECT})`, () => {
  let cluster: Cluster
  let fake: FakeYooKassa
  let bases: string[]
  const paidPayments: string[] = []

  beforeAll(async () => {
    fake = await startFakeYooKassa()
    cluster = await startCluster(
      planConfig(
        { requests: BURST_QUOTA },
        {
          plans: [
            plan('test', { requests: BURST_QUOTA }),
            plan('conc', { requests: 100_000, max_concurrent_requests: IN_FLIGHT }),
            plan('edit', { requests: 100_000 }),
            { ...plan('pro', { requests: 100_000 }), price: 990, currency: 'RUB' },
          ],
        },
      ),
      REPLICAS,
      yookassaEnv(fake),
    )
    bases = cluster.replicas.map((r) => r.base)
  }, 180_000)
  afterAll(async () => {
    await cluster?.close()
    await fake?.close()
  })

  /** The audit over all the cluster served: every answer of the fake upstream is 12 in, 7 out. */
  async function auditHolds() {
    await untilNothingReserved(cluster.db, 10_000)
    const served = cluster.upstream.requests.length
    const report = await audit(cluster.db.db, {
      served: { requests: served, tokens_input: served * 12, tokens_output: served * 7 },
      paidPayments,
    })
    expect(report.violations).toEqual([])
    return report
  }

  async function admin(method: string, path: string, body: unknown) {
    const response = await fetch(`${bases[0]}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await cluster.token('ops', 'admin')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    })
    expect(response.status, await response.clone().text()).toBeLessThan(300)
    return response
  }

  it('admits exactly 40 of a 300-request burst spread over the replicas; the audit holds', async () => {
    const token = await cluster.token('burst')
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => chat(bases[i % bases.length]!, token)),
    )
    const statuses = answers.map((a) => ('status' in a ? a.status : String(a)))
    const count = (status: number) => statuses.filter((s) => s === status).length
    expect(count(200), JSON.stringify(statuses)).toBe(BURST_QUOTA)
    expect(count(429)).toBe(300 - BURST_QUOTA)
    expect(cluster.upstream.requests).toHaveLength(BURST_QUOTA)
    const report = await auditHolds()
    expect(report.billed.requests).toBe(BURST_QUOTA)
    process.stdout.write(
      `[reliability replicas ${TEST_DIALECT}] 300 over ${REPLICAS} replicas: 200 x${count(200)}, 429 x${count(429)}; audit ok\n`,
    )
  }, 120_000)

  it('max_concurrent_requests 4 holds across the replicas: of 30 streams at once 4 reach the upstream, 26 get 429 rate_limit_exceeded', async () => {
    const token = await cluster.token('conc')
    await admin('POST', '/api/v1/billing/admin/subscriptions', { user_id: 'conc', plan_id: 'conc' })
    // The upstream holds every stream before its first chunk until released: whatever
    // reached it is in flight at once, so its count is the largest concurrency seen.
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    cluster.upstream.behave({ chunks: 2, beforeChunk: () => held })
    const before = cluster.upstream.requests.length
    const pending = Array.from({ length: 30 }, (_, i) =>
      chat(bases[i % bases.length]!, token, { stream: true }),
    )
    const answered: Array<Answer | Error> = []
    for (const p of pending) void p.then((a) => answered.push(a))
    const deadline = Date.now() + 60_000
    const atUpstream = () => cluster.upstream.requests.length - before
    // Until every one of the 30 is decided (answered, or held at the upstream): none can arrive later.
    while (answered.length + atUpstream() < 30 && Date.now() < deadline) await sleep(50)
    const inFlight = atUpstream()
    const refused = [...answered]
    release()
    const all = await Promise.all(pending)
    cluster.upstream.behave({})

    expect(inFlight, JSON.stringify(refused.slice(0, 3))).toBe(IN_FLIGHT)
    expect(refused).toHaveLength(30 - IN_FLIGHT)
    for (const answer of refused) {
      expect('status' in answer && answer.status, String(answer)).toBe(429)
      const { error } = JSON.parse((answer as Answer).text)
      expect(error).toMatchObject({ code: 'rate_limit_exceeded', param: 'max_concurrent_requests' })
    }
    const served = all.filter((a) => 'status' in a && a.status === 200)
    expect(served).toHaveLength(IN_FLIGHT)
    for (const answer of served) expect((answer as Answer).text).toContain('[DONE]')

    // The limit lifts when they end: the next 4 at once, over the replicas, are served.
    await untilNothingReserved(cluster.db, 10_000)
    const next = await Promise.all(
      Array.from({ length: IN_FLIGHT }, (_, i) =>
        chat(bases[i % bases.length]!, token, { stream: true }),
      ),
    )
    expect(next.map((a) => ('status' in a ? a.status : String(a)))).toEqual(
      Array(IN_FLIGHT).fill(200),
    )
    await auditHolds()
    process.stdout.write(
      `[reliability replicas ${TEST_DIALECT}] max_concurrent_requests ${IN_FLIGHT}, 30 streams over ${REPLICAS} replicas: ${inFlight} in flight at the upstream, ${refused.length} x 429 rate_limit_exceeded; audit ok\n`,
    )
  }, 120_000)

  it(`a plan edit on one replica is in force on the others within the cache time (${CACHE_MS} ms)`, async () => {
    const token = await cluster.token('editor')
    await admin('POST', '/api/v1/billing/admin/subscriptions', {
      user_id: 'editor',
      plan_id: 'edit',
    })
    // Each replica caches the editor's entitlement (plan `edit`, 100,000 requests).
    for (const base of bases) expect(await status(chat(base, token))).toBe(200)
    const used = await usedRequests('editor')

    // The admin lowers the quota to what is used, on replica 0.
    await admin('PATCH', '/api/v1/billing/plans/edit', { quotas: { requests: used } })
    const changedAt = Date.now()
    const seen = await probeEach(token, changedAt, BOUND_MS + 500)

    const bound = BOUND_MS
    const firstRefusal = seen.map((probes) => probes.find((p) => p.status === 429)?.sentAfter)
    // The replica that made the change refuses at once; the others by the bound.
    expect(seen[0]!.every((p) => p.status === 429)).toBe(true)
    for (const probes of seen) {
      const late = probes.filter((p) => p.sentAfter >= bound)
      expect(late.length).toBeGreaterThan(0)
      expect(
        late.filter((p) => p.status !== 429),
        JSON.stringify(probes),
      ).toEqual([])
      for (const p of probes.filter((p) => p.status === 429)) {
        expect(p.code).toBe('insufficient_quota')
      }
    }
    await auditHolds()
    process.stdout.write(
      `[reliability replicas ${TEST_DIALECT}] plan edit on replica 1: first refusal on replicas 1-${REPLICAS} after ${firstRefusal.join(', ')} ms (bound ${bound} ms); audit ok\n`,
    )
  }, 120_000)

  it(`a payment notified to one replica is in force on the others within the cache time (${CACHE_MS} ms)`, async () => {
    const token = await cluster.token('buyer')
    // The buyer spends the default plan's 40 requests, then is refused on every replica
    // (each caches the spent subscription).
    const spent = await Promise.all(
      Array.from({ length: BURST_QUOTA }, (_, i) => status(chat(bases[i % bases.length]!, token))),
    )
    expect(spent).toEqual(Array(BURST_QUOTA).fill(200))
    for (const base of bases) expect(await status(chat(base, token))).toBe(429)

    const response = await postCheckout(bases[0]!, token)
    const checkout = (await response.json()) as Checkout
    expect(response.status, JSON.stringify(checkout)).toBe(201)
    fake.pay(checkout.payment_id)
    paidPayments.push(checkout.payment_id)
    const notified = await fake.notify(
      bases[0]! + WEBHOOK_PATH,
      fake.notification('payment.succeeded', checkout.payment_id),
    )
    expect(notified.status, notified.body).toBe(200)
    const paidAt = Date.now()
    const seen = await probeEach(token, paidAt, BOUND_MS + 500)

    const bound = BOUND_MS
    const firstServed = seen.map((probes) => probes.find((p) => p.status === 200)?.sentAfter)
    expect(seen[0]!.every((p) => p.status === 200)).toBe(true)
    for (const probes of seen) {
      const late = probes.filter((p) => p.sentAfter >= bound)
      expect(late.length).toBeGreaterThan(0)
      expect(
        late.filter((p) => p.status !== 200),
        JSON.stringify(probes),
      ).toEqual([])
    }
    await auditHolds()
    process.stdout.write(
      `[reliability replicas ${TEST_DIALECT}] payment credited on replica 1: first request served on replicas 1-${REPLICAS} after ${firstServed.join(', ')} ms (bound ${bound} ms); audit ok\n`,
    )
  }, 120_000)

  /** The `requests` used by the user's live subscription, read from the database. */
  async function usedRequests(userId: string): Promise<number> {
    const row = await cluster.db.db
      .selectFrom('billing_quota_counter as c')
      .innerJoin('billing_subscription as s', (join) =>
        join
          .onRef('s.id', '=', 'c.subscription_id')
          .onRef('s.current_period_start', '=', 'c.period_start'),
      )
      .select('c.requests_used')
      .where('s.user_id', '=', userId)
      .where('s.status', '=', 'active')
      .executeTakeFirstOrThrow()
    return Number(row.requests_used)
  }

  /**
   * One request after another to each replica (in parallel across them) until
   * `forMs` after `since` and 3 sent after BOUND_MS: each probe's status, error
   * code and when it was sent.
   */
  async function probeEach(token: string, since: number, forMs: number) {
    return Promise.all(
      bases.map(async (base) => {
        const probes: Array<{ sentAfter: number; status: number | string; code?: string }> = []
        // At least 3 probes sent after the bound, however slow each answer is on a loaded machine.
        const late = () => probes.filter((p) => p.sentAfter >= BOUND_MS).length
        while (Date.now() - since < forMs || late() < 3) {
          const sentAfter = Date.now() - since
          const answer = await chat(base, token)
          const code = 'status' in answer ? errorCode(answer.text) : undefined
          probes.push({
            sentAfter,
            status: 'status' in answer ? answer.status : String(answer),
            code,
          })
          await sleep(100)
        }
        return probes
      }),
    )
  }
})

function plan(id: string, quotas: Record<string, number>) {
  return {
    id,
    name: id,
    price: 0,
    quotas: { tokens_input: 10_000_000, tokens_output: 10_000_000, ...quotas },
  }
}

async function status(answer: Promise<Answer | Error>): Promise<number | string> {
  const a = await answer
  return 'status' in a ? a.status : String(a)
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code
  } catch {
    return undefined
  }
}
