import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { release, reserve, settle } from '../../src/ledger/service.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { perMetric } from '../helpers/usage-rows.ts'

/** The ledger's batches of one event-loop turn (src/ledger/store.ts), on the real database. */
describe(`ledger batches (${TEST_DIALECT})`, () => {
  let h: Harness
  beforeAll(async () => {
    // Capped output reservations ("reserved" admission) are what makes a batch too tight below.
    h = await createHarness({ config: { quota: { outputAdmission: 'reserved' } } })
  })
  afterAll(() => h.close())

  it('closes the settles and releases of one turn together, per user, each exactly once', async () => {
    const plan = { quotas: { requests: 100, tokens_input: 10_000, tokens_output: 10_000 } }
    const alice = await userOnPlan(h, 'u-batch-a', { id: 'batch-a', ...plan })
    const bob = await userOnPlan(h, 'u-batch-b', { id: 'batch-b', ...plan })
    const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 100 })
    for (const [id, who] of [
      ['a1', alice],
      ['a2', alice],
      ['a3', alice],
      ['b1', bob],
      ['b2', bob],
    ] as const) {
      expect(await reserve(h.deps, who, { requestId: id, amounts: ask })).toMatchObject({
        ok: true,
      })
    }
    const batchesBefore = await batchSizes()
    const results = await Promise.all([
      settle(h.deps, 'a1', amounts({ requests: 1, tokens_input: 90, tokens_output: 150 })),
      settle(h.deps, 'a2', amounts({ requests: 1, tokens_input: 80, tokens_output: 20 })),
      settle(h.deps, 'a1', amounts({ requests: 1, tokens_input: 999, tokens_output: 999 })), // again: no-op
      release(h.deps, 'a3'),
      settle(h.deps, 'b1', amounts({ requests: 1, tokens_input: 50, tokens_output: 5 })),
      release(h.deps, 'b2'),
      settle(h.deps, 'never-reserved', amounts({ requests: 1 })),
    ])
    expect(results).toEqual([true, true, false, true, true, true, false])
    expect(await counters(h, alice)).toEqual({
      requests: { used: 2, reserved: 0 },
      tokens_input: { used: 170, reserved: 0 },
      tokens_output: { used: 170, reserved: 0 },
    })
    expect(await counters(h, bob)).toEqual({
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 50, reserved: 0 },
      tokens_output: { used: 5, reserved: 0 },
    })
    const usage = perMetric(
      await h.db
        .selectFrom('billing_usage')
        .selectAll()
        .where('request_id', 'in', ['a1', 'a2', 'a3', 'b1', 'b2'])
        .execute(),
    ).sort((a, b) => a.request_id!.localeCompare(b.request_id!))
    expect(usage.map((u) => `${u.request_id} ${u.metric} ${u.amount}`)).toEqual([
      'a1 requests 1',
      'a1 tokens_input 90',
      'a1 tokens_output 150',
      'a2 requests 1',
      'a2 tokens_input 80',
      'a2 tokens_output 20',
      'b1 requests 1',
      'b1 tokens_input 50',
      'b1 tokens_output 5',
    ])
    const batches = await batchSizes()
    expect(batches.count - batchesBefore.count, 'the seven closes went out as one batch').toBe(1)
    expect(batches.sum - batchesBefore.sum).toBe(7)
    expect(batches.retries - batchesBefore.retries, 'written together, not retried alone').toBe(0)
  })

  it('reserves of one turn go out together when all fit in full, else each is decided alone', async () => {
    const carol = await userOnPlan(h, 'u-batch-c', {
      id: 'batch-c',
      quotas: { requests: 10, tokens_input: 1000, tokens_output: 500 },
    })
    const dave = await userOnPlan(h, 'u-batch-d', {
      id: 'batch-d',
      quotas: { requests: 10, tokens_input: 1000, tokens_output: 500 },
    })
    const ask = (tokens_output: number) =>
      amounts({ requests: 1, tokens_input: 100, tokens_output })
    const before = await batchSizes('reserve')
    const fitting = await Promise.all([
      reserve(h.deps, carol, { requestId: 'c1', amounts: ask(100) }),
      reserve(h.deps, carol, { requestId: 'c2', amounts: ask(100) }),
      reserve(h.deps, dave, { requestId: 'd1', amounts: ask(300) }),
    ])
    expect(fitting.map((r) => r.ok && r.reserved.tokens_output)).toEqual([100, 100, 300])
    expect(await counters(h, carol)).toEqual({
      requests: { used: 0, reserved: 2 },
      tokens_input: { used: 0, reserved: 200 },
      tokens_output: { used: 0, reserved: 200 },
    })
    // Dave has 200 output tokens left: the second of these is capped, the third refused,
    // exactly as one at a time (the batch cannot take them all in full, so it is not used).
    const tight = await Promise.all([
      reserve(h.deps, dave, { requestId: 'd2', amounts: ask(150) }),
      reserve(h.deps, dave, { requestId: 'd3', amounts: ask(150) }),
      reserve(h.deps, dave, { requestId: 'd4', amounts: ask(150) }),
    ])
    expect(
      tight.map((r) => (r.ok ? r.reserved.tokens_output : r.reason === 'quota' && r.metric)),
    ).toEqual([150, 50, 'tokens_output'])
    expect((await counters(h, dave)).tokens_output).toEqual({ used: 0, reserved: 500 })
    const held = await h.db
      .selectFrom('billing_reservation')
      .select(['request_id', 'tokens_output'])
      .where('request_id', 'in', ['c1', 'c2', 'd1', 'd2', 'd3', 'd4'])
      .orderBy('request_id')
      .execute()
    expect(held.map((r) => `${r.request_id} ${r.tokens_output}`)).toEqual([
      'c1 100',
      'c2 100',
      'd1 300',
      'd2 150',
      'd3 50',
    ])
    const after = await batchSizes('reserve')
    expect(after.count - before.count, 'one batch per turn').toBe(2)
    expect(after.sum - before.sum).toBe(6)
    expect(after.retries - before.retries, 'only the tight batch was undone and run alone').toBe(1)
  })

  async function batchSizes(kind: 'reserve' | 'close' = 'close') {
    const metric = await h.deps.metrics.ledgerBatchSize.get()
    const value = (name: string) =>
      metric.values.find((v) => v.metricName === name && v.labels.kind === kind)?.value ?? 0
    const retries = (await h.deps.metrics.ledgerBatchRetries.get()).values.find(
      (v) => v.labels.kind === kind,
    )
    return {
      count: value('gateway_ledger_batch_size_count'),
      sum: value('gateway_ledger_batch_size_sum'),
      retries: retries?.value ?? 0,
    }
  }
})
