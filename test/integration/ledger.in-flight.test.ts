import { afterEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import type { ErrorBody } from '../../src/http/errors.ts'
import { release, reserve } from '../../src/ledger/service.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'
import { reserveFromTwoThreads } from '../helpers/reserve-in-worker.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * max_concurrent_requests is one more condition of the atomic reservation (the
 * requests counter's `reserved` is the number in flight), so it holds like the
 * quotas do: in the batches of one event-loop turn, and across processes and
 * replicas sharing the database.
 */
let open: Harness[] = []
let upstream: FakeUpstream | undefined
afterEach(async () => {
  for (const h of open.reverse()) await h.close()
  open = []
  await upstream?.close()
  upstream = undefined
})

const one = amounts({ requests: 1, tokens_input: 10, tokens_output: 300 })

async function harness(options: Parameters<typeof createHarness>[0] = {}) {
  const h = await createHarness(options)
  open.push(h)
  return h
}

async function reserveBatchMetrics(h: Harness) {
  const sizes = await h.deps.metrics.ledgerBatchSize.get()
  const count = sizes.values.find(
    (v) => v.metricName === 'gateway_ledger_batch_size_count' && v.labels.kind === 'reserve',
  )
  const retries = (await h.deps.metrics.ledgerBatchRetries.get()).values.find(
    (v) => v.labels.kind === 'reserve',
  )
  return { batches: count?.value ?? 0, retries: retries?.value ?? 0 }
}

const reserveMany = (h: Harness, e: Entitlement, prefix: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      reserve(h.deps, e, { requestId: `${prefix}-${i}`, amounts: one }),
    ),
  )

describe(`in-flight limit in the ledger (${TEST_DIALECT})`, () => {
  it('one turn within the limit is one batch; one beyond it is undone and admits exactly the limit', async () => {
    const h = await harness()
    const quotas = { requests: 100, tokens_output: 500, max_concurrent_requests: 3 }
    const e = await userOnPlan(h, 'u-turns', { id: 'turns', quotas })
    const before = await reserveBatchMetrics(h)
    // 3 x 300 output tokens against 500: settled admission takes them whole, in one batch.
    const fitting = await reserveMany(h, e, 'fit', 3)
    expect(fitting.map((r) => r.ok && r.reserved.tokens_output)).toEqual([300, 300, 300])
    const afterFitting = await reserveBatchMetrics(h)
    expect(afterFitting.batches - before.batches, 'one batch').toBe(1)
    expect(afterFitting.retries - before.retries, 'not undone').toBe(0)
    for (let i = 0; i < 3; i++) expect(await release(h.deps, `fit-${i}`)).toBe(true)

    const burst = await reserveMany(h, e, 'burst', 5)
    expect(burst.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      'ok',
      'ok',
      'concurrency',
      'concurrency',
    ])
    expect(burst[3]).toMatchObject({ ok: false, reason: 'concurrency', limit: 3, inFlight: 3 })
    const afterBurst = await reserveBatchMetrics(h)
    expect(afterBurst.retries - afterFitting.retries, 'the batch was undone').toBe(1)
    expect(await counters(h, e)).toMatchObject({
      requests: { used: 0, reserved: 3 },
      tokens_output: { used: 0, reserved: 900 },
    })
    expect(await release(h.deps, 'burst-0')).toBe(true)
    expect((await reserve(h.deps, e, { requestId: 'again', amounts: one })).ok).toBe(true)
  })

  it('two processes (threads with their own database handle and event loop) admit exactly the limit together', async () => {
    const LIMIT = 10
    const ATTEMPTS = 200
    // Every round must be exact; rounds repeat only until both sides won some.
    for (let round = 1; ; round++) {
      const h = await harness()
      const quotas = { requests: 1000, max_concurrent_requests: LIMIT }
      const e = await userOnPlan(h, 'u-procs', { id: 'procs', quotas })
      const ids = Array.from({ length: ATTEMPTS }, (_, i) => `p-${i}`)
      const [theirs, mine] = await reserveFromTwoThreads(h, e, ids, one, (requestId) =>
        reserve(h.deps, e, { requestId, amounts: one }),
      )
      const all = [...theirs, ...mine]
      const summary = JSON.stringify(all)
      expect(all.filter((o) => o.error).length, summary).toBe(0)
      expect(all.filter((o) => o.ok).length, summary).toBe(LIMIT)
      expect(all.filter((o) => o.reason === 'concurrency').length, summary).toBe(ATTEMPTS - LIMIT)
      expect((await counters(h, e)).requests).toEqual({ used: 0, reserved: LIMIT })
      const rows = await h.db.selectFrom('billing_reservation').select('request_id').execute()
      expect(rows.length).toBe(LIMIT)
      const wins = [theirs, mine].map((side) => side.filter((o) => o.ok).length)
      if (wins.every((n) => n > 0)) return
      expect(round, `no interleaving in ${round} rounds: wins ${wins}`).toBeLessThan(6)
      await h.close()
      open = open.filter((x) => x !== h)
    }
  }, 120_000)

  it.runIf(TEST_DIALECT === 'postgres')(
    'two gateway replicas on one PostgreSQL database: over HTTP, exactly the limit reaches the upstream',
    async () => {
      upstream = await startFakeUpstream()
      let openGate: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        openGate = resolve
      })
      upstream.behave({ beforeChunk: () => gate }) // every stream held before its first chunk
      const plan = {
        id: 'replicas',
        name: 'Replicas',
        price: 0,
        quotas: {
          requests: 100,
          tokens_input: null,
          tokens_output: null,
          max_concurrent_requests: 3,
        },
        features: ['gpt4_access'],
      }
      const options = {
        env: { UPSTREAM_BASE_URL: upstream.url, UPSTREAM_API_KEY: UPSTREAM_KEY },
        config: { plans: [plan], billing: { defaultPlanId: 'replicas' } },
      }
      const a = await harness(options)
      const b = await harness({ ...options, shareDatabaseWith: a })
      const bases = [await a.listen(), await b.listen()]
      const token = await a.token({ sub: 'u-replicas' })
      const results = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const response = await fetch(`${bases[i % 2]}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'hi' }],
              stream: true,
            }),
          })
          // A refusal is read now; an admitted stream only once the gate opens.
          return { status: response.status, response }
        }),
      )
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 200).length, String(statuses)).toBe(3)
      expect(statuses.filter((s) => s === 429).length, String(statuses)).toBe(5)
      expect(upstream.requestsTo('/v1/chat/completions').length).toBe(3)
      for (const { response } of results.filter((r) => r.status === 429)) {
        const body = (await response.json()) as ErrorBody
        expect(body.error, JSON.stringify(body)).toMatchObject({
          code: 'rate_limit_exceeded',
          param: 'max_concurrent_requests',
        })
      }
      openGate()
      for (const { response } of results.filter((r) => r.status === 200)) await response.text()
      const e = (await a.deps.entitlements.get('u-replicas'))!
      for (let i = 0; i < 100; i++) {
        const { requests } = await counters(a, e)
        if (requests.reserved === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect((await counters(a, e)).requests).toEqual({ used: 3, reserved: 0 })
    },
  )
})
