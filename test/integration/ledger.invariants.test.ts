import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Metric } from '../../db/tables.ts'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { release, reserve, settle } from '../../src/ledger/service.ts'
import { createLedgerStore, type LedgerStore } from '../../src/ledger/store.ts'
import { sweepStaleReservations } from '../../src/ledger/sweeper.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { byMetric, COUNTER_COLUMNS } from '../helpers/counters.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * The ledger's invariants that no other test states whole (src/ledger/README.md):
 * counters equal the sum of their rows after every kind of write, a close the
 * database refused is landed by its own process, and a close still waiting in
 * its window when the process dies leaves a reservation the sweeper bills.
 */
describe(`ledger invariants (${TEST_DIALECT})`, () => {
  let h: Harness
  let plan = 0
  beforeAll(async () => {
    // Capped output reservations ("reserved" admission) make a batch that cannot go whole.
    h = await createHarness({ config: { quota: { outputAdmission: 'reserved' } } })
  })
  afterAll(() => h.close())

  const DEAD_AFTER = 15 // quota.ownerDeadAfterSeconds, the default

  async function user(quotas: Record<string, number>) {
    plan++
    return userOnPlan(h, `u-inv-${plan}`, { id: `inv-${plan}`, quotas })
  }

  /** A second replica on the same database that beats once, at start, then never again. */
  const dyingReplica = () =>
    createHarness({
      shareDatabaseWith: h,
      config: { quota: { outputAdmission: 'reserved', heartbeatIntervalMs: 3_600_000 } },
    })

  const identity = (e: Entitlement) => ({
    userId: e.userId,
    subscriptionId: e.subscription.id,
    periodStart: e.subscription.current_period_start,
    modelId: null,
    chatId: null,
  })

  /**
   * Per subscription and metric, the counters (all periods) and what their rows say:
   * `used` the sum of the usage rows, `reserved` the sum of the live reservations.
   */
  async function countersAndRows(...users: Entitlement[]) {
    const ids = users.map((e) => e.subscription.id)
    const periods = await h.db
      .selectFrom('billing_quota_counter')
      .select(['subscription_id', ...COUNTER_COLUMNS])
      .where('subscription_id', 'in', ids)
      .execute()
    const perCounter = new Map<
      string,
      { subscription_id: string; metric: Metric; used: number; reserved: number }
    >()
    for (const { subscription_id, metric, used, reserved } of byMetric(periods)) {
      const key = `${subscription_id}/${metric}`
      const sum = perCounter.get(key) ?? { subscription_id, metric, used: 0, reserved: 0 }
      perCounter.set(key, { ...sum, used: sum.used + used, reserved: sum.reserved + reserved })
    }
    const fromCounters = [...perCounter.values()]
    const usage = await h.db
      .selectFrom('billing_usage')
      .select((eb) => [
        'subscription_id',
        eb.fn.sum<number>('requests').as('requests'),
        eb.fn.sum<number>('tokens_input').as('tokens_input'),
        eb.fn.sum<number>('tokens_output').as('tokens_output'),
      ])
      .where('subscription_id', 'in', ids)
      .groupBy('subscription_id')
      .execute()
    const held = await h.db
      .selectFrom('billing_reservation')
      .select([
        'subscription_id',
        sql<number>`sum(requests)`.as('requests'),
        sql<number>`sum(tokens_input)`.as('tokens_input'),
        sql<number>`sum(tokens_output)`.as('tokens_output'),
      ])
      .where('subscription_id', 'in', ids)
      .groupBy('subscription_id')
      .execute()
    const line = (sub: string, metric: string, used: unknown, reserved: unknown) =>
      `${ids.indexOf(sub)} ${metric}: used ${Number(used ?? 0)}, reserved ${Number(reserved ?? 0)}`
    const stored = fromCounters.map((c) => line(c.subscription_id, c.metric, c.used, c.reserved))
    const summed = fromCounters.map(({ subscription_id: sub, metric }) =>
      line(
        sub,
        metric,
        usage.find((u) => u.subscription_id === sub)?.[metric],
        held.find((r) => r.subscription_id === sub)?.[metric],
      ),
    )
    return { counters: stored.sort(), rows: summed.sort() }
  }

  async function expectCountersEqualRows(step: string, ...users: Entitlement[]) {
    const { counters: stored, rows } = await countersAndRows(...users)
    expect(stored, step).toEqual(rows)
    return stored
  }

  it('counters equal the sum of their rows (used: usage rows; reserved: live reservations) after every kind of write', async () => {
    const alice = await user({ requests: 6, tokens_input: 10_000, tokens_output: 1_000 })
    const bob = await user({ requests: 100, tokens_input: 10_000, tokens_output: 10_000 })
    const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 300 })
    const reserveAll = (...pairs: Array<[string, Entitlement]>) =>
      Promise.all(pairs.map(([id, e]) => reserve(h.deps, e, { requestId: id, amounts: ask })))

    // A turn that fits as one batch.
    const fits = await reserveAll(['a1', alice], ['a2', alice], ['b1', bob], ['b2', bob])
    expect(fits.map((r) => r.ok)).toEqual([true, true, true, true])
    await expectCountersEqualRows('a batch that fit', alice, bob)

    // A turn that does not: alice's output has 400 left, so a4 is capped and a5 refused alone.
    const tight = await reserveAll(['a3', alice], ['a4', alice], ['a5', alice], ['b3', bob])
    expect(tight.map((r) => (r.ok ? r.reserved.tokens_output : r.reason))).toEqual([
      300,
      100,
      'quota',
      300,
    ])
    await expectCountersEqualRows('a batch decided one by one, capped and refused', alice, bob)

    // A turn of closes and reserves together: overrun, underrun, release, repeats, a new reserve.
    const closes = await Promise.all([
      settle(h.deps, 'a1', amounts({ requests: 1, tokens_input: 120, tokens_output: 450 })),
      settle(h.deps, 'b1', amounts({ requests: 1, tokens_input: 40, tokens_output: 10 })),
      release(h.deps, 'a2'),
      settle(h.deps, 'a1', amounts({ requests: 1, tokens_input: 999, tokens_output: 999 })),
      release(h.deps, 'never-reserved'),
      reserve(h.deps, bob, { requestId: 'b4', amounts: ask }).then((r) => r.ok),
    ])
    expect(closes).toEqual([true, true, true, false, false, true])
    await expectCountersEqualRows('closes and reserves of one turn', alice, bob)

    // A dead process's reservation, swept as estimated, then its true usage arrives late.
    const dead = await dyingReplica()
    try {
      expect((await reserve(dead.deps, bob, { requestId: 'd1', amounts: ask })).ok).toBe(true)
      h.clock.advance((DEAD_AFTER + 1) * 1000)
      await h.liveness.tick()
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 1, released: 0 })
      await expectCountersEqualRows('a sweep that billed an estimate', alice, bob)
      const actual = amounts({ requests: 1, tokens_input: 80, tokens_output: 500 })
      expect(await settle(dead.deps, 'd1', actual, { identity: identity(bob) })).toBe(true)
      await expectCountersEqualRows('a late settle that corrected the estimate', alice, bob)
    } finally {
      await dead.close()
    }

    // Every reservation ends: nothing stays reserved, and the rows still agree.
    await Promise.all(['a3', 'a4', 'b2', 'b3', 'b4'].map((id) => release(h.deps, id)))
    const end = await expectCountersEqualRows('every reservation ended', alice, bob)
    expect(end.filter((line) => !line.endsWith('reserved 0'))).toEqual([])
    expect(end).toContain('0 tokens_output: used 450, reserved 0')
    expect(end).toContain('1 tokens_output: used 510, reserved 0')
  })

  it('a settle or release the database refused changes nothing and stays with its process, whose sweeper lands it exactly once', async () => {
    const carol = await user({ requests: 100, tokens_input: 10_000, tokens_output: 10_000 })
    const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 100 })
    for (const id of ['c1', 'c2']) {
      expect((await reserve(h.deps, carol, { requestId: id, amounts: ask })).ok).toBe(true)
    }
    const before = await counters(h, carol)
    // c1's settle is refused by the database itself: its first usage id is taken.
    const taken = `usage-taken-${plan}`
    await h.db
      .insertInto('billing_usage')
      .values({
        id: taken,
        user_id: 'someone-else',
        subscription_id: 'elsewhere',
        ...{ requests: 0, tokens_input: 0, tokens_output: 0 },
        ...{ raw_input: null, raw_output: null, cost_input_micros: null, cost_output_micros: null },
        request_id: 'elsewhere',
        estimated: 0,
        created_at: 0,
      })
      .execute()
    const ids = [taken]
    const refusing = {
      ...h.deps,
      ids: { ...h.deps.ids, next: () => ids.shift() ?? h.deps.ids.next() },
    }
    const used = amounts({ requests: 1, tokens_input: 70, tokens_output: 30 })
    await expect(settle(refusing, 'c1', used)).rejects.toThrow()
    // c2's release finds the database unreachable (the ledger's write fails).
    const unreachable: LedgerStore = {
      ...h.deps.ledger,
      close: () => Promise.reject(new Error('the database is unreachable')),
    }
    await expect(release({ ...h.deps, ledger: unreachable }, 'c2')).rejects.toThrow('unreachable')

    expect(await counters(h, carol), 'the refused closes changed nothing').toEqual(before)
    expect([...h.deps.instance.unfinished.keys()]).toEqual(['c1', 'c2'])

    // This process's next sweep (every heartbeat) lands them, in order.
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
    expect(h.deps.instance.unfinished.size).toBe(0)
    const after = {
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 70, reserved: 0 },
      tokens_output: { used: 30, reserved: 0 },
    }
    expect(await counters(h, carol)).toEqual(after)
    await sweepStaleReservations(h.deps)
    expect(await counters(h, carol), 'landed once').toEqual(after)
    await expectCountersEqualRows('after the retried closes', carol)
    expect(h.logText()).toContain('BILLING an unfinished settle landed')
  })

  it('a close still waiting in its window when its process dies: the reservation stays counted and the sweeper bills it as estimated, once', async () => {
    const dan = await user({ requests: 100, tokens_input: 10_000, tokens_output: 10_000 })
    const dead = await dyingReplica()
    try {
      // The dying process's closes wait long for company (SQLite waits 3 ms by default).
      const ledger = createLedgerStore(dead.deps.database, {}, { closeWindowMs: 60_000 })
      const deps = { ...dead.deps, ledger }
      const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 200 })
      expect((await reserve(deps, dan, { requestId: 'w1', amounts: ask })).ok).toBe(true)
      const waiting = settle(
        deps,
        'w1',
        amounts({ requests: 1, tokens_input: 90, tokens_output: 20 }),
      )
      // The process dies here: its close never leaves memory.
      h.clock.advance((DEAD_AFTER + 1) * 1000)
      await h.liveness.tick()
      expect((await counters(h, dan)).tokens_output, 'still reserved').toEqual({
        used: 0,
        reserved: 200,
      })
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 1, released: 0 })
      const billed = {
        requests: { used: 1, reserved: 0 },
        tokens_input: { used: 100, reserved: 0 },
        tokens_output: { used: 200, reserved: 0 },
      }
      expect(await counters(h, dan), 'billed as estimated').toEqual(billed)
      // Were the close written after all (the process was only paused), it finds nothing to close.
      ledger.hurry()
      expect(await waiting).toBe(false)
      expect(await counters(h, dan), 'billed once').toEqual(billed)
      await expectCountersEqualRows('after the sweep', dan)
    } finally {
      await dead.close()
    }
  })
})
