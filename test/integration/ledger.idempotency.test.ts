import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { release, reserve, settle } from '../../src/ledger/service.ts'
import { sweepStaleReservations } from '../../src/ledger/sweeper.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { perMetric } from '../helpers/usage-rows.ts'

const TTL = 900

let h: Harness
let e: Entitlement
beforeEach(async () => {
  h = await createHarness({ config: { quota: { reservationTtlSeconds: TTL } } })
  e = await userOnPlan(h, 'u-led', {
    id: 'led',
    quotas: { requests: 10, tokens_input: 1000, tokens_output: 500 },
  })
})
afterEach(() => h.close())

const usageRows = async (requestId: string) =>
  perMetric(
    await h.db
      .selectFrom('billing_usage')
      .selectAll()
      .where('request_id', '=', requestId)
      .execute(),
  )

describe(`ledger reserve / settle / release (${TEST_DIALECT})`, () => {
  it('refuses a reservation that fits requests but not tokens_input and changes no counter', async () => {
    await reserve(h.deps, e, {
      requestId: 'a',
      amounts: amounts({ requests: 1, tokens_input: 600 }),
    })
    const before = await counters(h, e)
    const r = await reserve(h.deps, e, {
      requestId: 'b',
      amounts: amounts({ requests: 1, tokens_input: 401, tokens_output: 100 }),
    })
    expect(r, JSON.stringify(r)).toMatchObject({ ok: false, metric: 'tokens_input', limit: 1000 })
    expect(await counters(h, e)).toEqual(before)
    expect(before.requests.reserved, JSON.stringify(before)).toBe(1)
    const rows = await h.db.selectFrom('billing_reservation').select('request_id').execute()
    expect(rows.map((x) => x.request_id)).toEqual(['a'])
  })

  it('caps tokens_output at what remains and refuses it only when nothing remains ("reserved" admission)', async () => {
    // The settled default admits on used alone (proxy.admission.test.ts); this is the old rule.
    await h.close()
    h = await createHarness({ config: { quota: { outputAdmission: 'reserved' } } })
    e = await userOnPlan(h, 'u-led', {
      id: 'led',
      quotas: { requests: 10, tokens_input: 1000, tokens_output: 500 },
    })
    const r1 = await reserve(h.deps, e, {
      requestId: 'o1',
      amounts: amounts({ requests: 1, tokens_output: 400 }),
    })
    const r2 = await reserve(h.deps, e, {
      requestId: 'o2',
      amounts: amounts({ requests: 1, tokens_output: 400 }),
    })
    expect(r2, JSON.stringify(r2)).toMatchObject({ ok: true, reserved: { tokens_output: 100 } })
    expect(r1.ok && r2.ok && r2.remaining.tokens_output).toBe(0)
    const r3 = await reserve(h.deps, e, {
      requestId: 'o3',
      amounts: amounts({ requests: 1, tokens_output: 1 }),
    })
    expect(r3, JSON.stringify(r3)).toMatchObject({ ok: false, metric: 'tokens_output' })
    // o1's answer ran over its estimate: recorded, so output is now overrun (550 of 500) ...
    await settle(h.deps, 'o1', amounts({ requests: 1, tokens_output: 450 }))
    expect((await counters(h, e)).tokens_output).toEqual({ used: 450, reserved: 100 })
    // ... and still a request that needs no output (an embedding) is not refused for output.
    const r4 = await reserve(h.deps, e, {
      requestId: 'o4',
      amounts: amounts({ requests: 1, tokens_input: 5 }),
    })
    expect(r4, JSON.stringify(r4)).toMatchObject({ ok: true })
  })

  it('settles the actual amounts (overruns included) once; a second settle changes nothing', async () => {
    await reserve(h.deps, e, {
      requestId: 's',
      amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 50 }),
    })
    const actual = amounts({ requests: 1, tokens_input: 120, tokens_output: 70 })
    expect(await settle(h.deps, 's', actual)).toBe(true)
    const after = await counters(h, e)
    expect(after).toEqual({
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 120, reserved: 0 },
      tokens_output: { used: 70, reserved: 0 },
    })
    expect(await settle(h.deps, 's', actual)).toBe(false)
    expect(await release(h.deps, 's')).toBe(false)
    expect(await counters(h, e)).toEqual(after)
    const rows = await usageRows('s')
    expect(rows.map((r) => [r.metric, Number(r.amount)]).sort()).toEqual([
      ['requests', 1],
      ['tokens_input', 120],
      ['tokens_output', 70],
    ])
    expect(rows[0]).toMatchObject({ user_id: 'u-led', subscription_id: e.subscription.id })
  })

  it('releases once; a second release (or a late settle) changes nothing', async () => {
    await reserve(h.deps, e, {
      requestId: 'r',
      amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 50 }),
    })
    expect(await release(h.deps, 'r')).toBe(true)
    const after = await counters(h, e)
    expect(after).toEqual({
      requests: { used: 0, reserved: 0 },
      tokens_input: { used: 0, reserved: 0 },
      tokens_output: { used: 0, reserved: 0 },
    })
    expect(await release(h.deps, 'r')).toBe(false)
    expect(await settle(h.deps, 'r', amounts({ requests: 1 }))).toBe(false)
    expect(await counters(h, e)).toEqual(after)
    expect(await usageRows('r')).toEqual([])
  })

  /** A second replica on the same database that beats once, at start, then never again (it "dies"). */
  const dyingReplica = () =>
    createHarness({
      shareDatabaseWith: h,
      config: { quota: { reservationTtlSeconds: TTL, heartbeatIntervalMs: 3_600_000 } },
    })
  const DEAD_AFTER = 15 // quota.ownerDeadAfterSeconds, the default
  const identity = () => ({
    userId: 'u-led',
    subscriptionId: e.subscription.id,
    periodStart: e.subscription.current_period_start,
    modelId: null,
    chatId: null,
  })
  const sumOf = (rows: Awaited<ReturnType<typeof usageRows>>, metric: string) =>
    rows.filter((r) => r.metric === metric).reduce((sum, r) => sum + Number(r.amount), 0)

  it('never sweeps the reservation of a live process, however old', async () => {
    await reserve(h.deps, e, {
      requestId: 'live',
      amounts: amounts({ requests: 1, tokens_input: 300, tokens_output: 200 }),
    })
    h.clock.advance(3 * TTL * 1000)
    await h.liveness.tick()
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
    const other = await createHarness({ shareDatabaseWith: h })
    try {
      expect(await sweepStaleReservations(other.deps)).toEqual({ settled: 0, released: 0 })
    } finally {
      await other.close()
    }
    expect((await counters(h, e)).tokens_input).toEqual({ used: 0, reserved: 300 })
  })

  it('settles a dead process’s sent reservation as estimated and releases its unsent one, once its heartbeat is older than the bound', async () => {
    const dead = await dyingReplica()
    try {
      await reserve(dead.deps, e, {
        requestId: 'sent',
        amounts: amounts({ requests: 1, tokens_input: 300, tokens_output: 200 }),
      })
      await reserve(dead.deps, e, {
        requestId: 'unsent',
        amounts: amounts({ requests: 1, tokens_input: 50, tokens_output: 50 }),
        notSent: true,
      })
      h.clock.advance((DEAD_AFTER - 1) * 1000)
      await h.liveness.tick()
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
      h.clock.advance(2000)
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 1, released: 1 })
      expect(await counters(h, e)).toEqual({
        requests: { used: 1, reserved: 0 },
        tokens_input: { used: 300, reserved: 0 },
        tokens_output: { used: 200, reserved: 0 },
      })
      const rows = await usageRows('sent')
      expect(rows.map((r) => [r.metric, Number(r.amount), r.estimated]).sort()).toEqual([
        ['requests', 1, 0],
        ['tokens_input', 300, 1],
        ['tokens_output', 200, 1],
      ])
      expect(await usageRows('unsent')).toEqual([])
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
      expect(h.logText()).toContain('BILLING swept the reservations of dead gateway processes')
      // The returned quota is usable again.
      const r = await reserve(h.deps, e, {
        requestId: 'next',
        amounts: amounts({ requests: 1, tokens_input: 700 }),
      })
      expect(r.ok, JSON.stringify(r)).toBe(true)
    } finally {
      await dead.close()
    }
  })

  it('releases a reservation without owner (written before migration 0002) after the TTL, not before', async () => {
    await reserve(h.deps, e, {
      requestId: 'legacy',
      amounts: amounts({ requests: 1, tokens_input: 300, tokens_output: 200 }),
    })
    await h.db.updateTable('billing_reservation').set({ owner: null, sent_at: null }).execute()
    h.clock.advance((TTL - 1) * 1000)
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
    h.clock.advance(2000)
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 1 })
    expect((await counters(h, e)).tokens_input).toEqual({ used: 0, reserved: 0 })
    // Its request did run after all: its settle records the usage in full, once.
    const actual = amounts({ requests: 1, tokens_input: 90, tokens_output: 40 })
    expect(await settle(h.deps, 'legacy', actual, { identity: identity() })).toBe(true)
    expect(await settle(h.deps, 'legacy', actual, { identity: identity() })).toBe(false)
    expect(await counters(h, e)).toEqual({
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 90, reserved: 0 },
      tokens_output: { used: 40, reserved: 0 },
    })
    expect(await h.db.selectFrom('billing_reservation').selectAll().execute()).toEqual([])
  })

  it('a settle after its reservation was swept as estimated records the true usage exactly once', async () => {
    const dead = await dyingReplica()
    try {
      await reserve(dead.deps, e, {
        requestId: 'slow',
        amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 100 }),
      })
      h.clock.advance((DEAD_AFTER + 1) * 1000)
      await h.liveness.tick()
      expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 1, released: 0 })
      // The "dead" process was only paused: its request ends and settles.
      const actual = amounts({ requests: 1, tokens_input: 90, tokens_output: 140 })
      expect(await settle(dead.deps, 'slow', actual, { identity: identity() })).toBe(true)
      expect(await settle(dead.deps, 'slow', actual, { identity: identity() })).toBe(false)
      expect(await release(dead.deps, 'slow')).toBe(false)
      expect(await counters(h, e)).toEqual({
        requests: { used: 1, reserved: 0 },
        tokens_input: { used: 90, reserved: 0 },
        tokens_output: { used: 140, reserved: 0 },
      })
      const rows = await usageRows('slow')
      expect([
        sumOf(rows, 'requests'),
        sumOf(rows, 'tokens_input'),
        sumOf(rows, 'tokens_output'),
      ]).toEqual([1, 90, 140])
    } finally {
      await dead.close()
    }
  })
})
