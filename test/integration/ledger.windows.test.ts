import { afterEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { release, reserve, settle } from '../../src/ledger/service.ts'
import { sweepStaleReservations } from '../../src/ledger/sweeper.ts'
import { rollUpAndPrune } from '../../src/ledger/usage-retention.job.ts'
import { amounts, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { reserveFromTwoThreads, startReserveWorker } from '../helpers/reserve-in-worker.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Rate windows (docs/quotas.md): fixed windows of the minute and of the day in the plan's
 * time zone, checked in the same atomic admission as the period's quotas, their counters
 * moved by the settle in the window the request was reserved in.
 */
const PER_MINUTE = 40
const ALREADY_USED = 3
const LEFT = PER_MINUTE - ALREADY_USED // 37
const CONCURRENT = 200
const one = amounts({ requests: 1 })

let open: Harness[] = []
afterEach(async () => {
  for (const h of open.reverse()) await h.close()
  open = []
})

async function setup(quotas: Record<string, number | string | null>) {
  const h = await createHarness()
  open.push(h)
  const e = await userOnPlan(h, 'u-win', {
    id: 'windows',
    quotas: { requests: 10_000, max_concurrent_requests: null, ...quotas },
  })
  return { h, e }
}

/** The window counter rows of the user's subscription: kind@start -> used/reserved. */
async function windows(h: Harness, e: Entitlement) {
  const rows = await h.db
    .selectFrom('billing_rate_window')
    .select(['kind', 'window_start', 'used', 'reserved'])
    .where('subscription_id', '=', e.subscription.id)
    .execute()
  return Object.fromEntries(
    rows.map((r) => [
      `${r.kind}@${Number(r.window_start)}`,
      { used: Number(r.used), reserved: Number(r.reserved) },
    ]),
  )
}

const nowSec = (h: Harness) => Math.floor(h.clock.now() / 1000)

describe(`rate windows (${TEST_DIALECT})`, () => {
  it(`a burst of ${CONCURRENT} on a minute window with ${LEFT} left admits exactly ${LEFT}, from two processes`, async () => {
    for (let round = 1; ; round++) {
      const { h, e } = await setup({ requests_per_minute: PER_MINUTE })
      for (let i = 0; i < ALREADY_USED; i++) {
        expect((await reserve(h.deps, e, { requestId: `pre-${i}`, amounts: one })).ok).toBe(true)
        expect(await settle(h.deps, `pre-${i}`, one)).toBe(true)
      }
      const ids = Array.from({ length: CONCURRENT }, (_, i) => `w-${i}`)
      const [theirs, mine] = await reserveFromTwoThreads(h, e, ids, one, (requestId) =>
        reserve(h.deps, e, { requestId, amounts: one }),
      )
      const outcomes = [...theirs, ...mine]
      const summary = JSON.stringify(outcomes.filter((o) => !o.ok).slice(0, 3))
      expect(outcomes.filter((o) => 'error' in o && o.error).length, summary).toBe(0)
      expect(outcomes.filter((o) => o.ok === true).length, summary).toBe(LEFT)
      for (const o of outcomes.filter((o) => o.ok === false)) {
        expect(o, JSON.stringify(o)).toMatchObject({ reason: 'rate' })
      }
      const minute = nowSec(h) - (nowSec(h) % 60)
      expect(await windows(h, e)).toMatchObject({
        [`requests_per_minute@${minute}`]: { used: ALREADY_USED, reserved: LEFT },
      })
      const held = await h.db.selectFrom('billing_reservation').select('request_id').execute()
      expect(held.length).toBe(LEFT)
      const wins = [theirs, mine].map((side) => side.filter((o) => o.ok).length)
      if (wins.every((n) => n > 0)) return
      expect(round, `no interleaving in ${round} rounds: wins ${wins}`).toBeLessThan(6)
      await h.close()
      open = open.filter((x) => x !== h)
    }
  })

  it('a full minute frees at the next minute; a settle moves the window it was reserved in', async () => {
    const { h, e } = await setup({ requests_per_minute: 2 })
    const first = nowSec(h) - (nowSec(h) % 60)
    expect((await reserve(h.deps, e, { requestId: 'a', amounts: one })).ok).toBe(true)
    expect((await reserve(h.deps, e, { requestId: 'b', amounts: one })).ok).toBe(true)
    h.clock.advance(30_000)
    const refused = await reserve(h.deps, e, { requestId: 'c', amounts: one })
    expect(refused).toMatchObject({
      ok: false,
      reason: 'rate',
      window: 'requests_per_minute',
      limit: 2,
      used: 2,
      resetAt: first + 60,
    })
    h.clock.advance(30_000) // the next minute
    expect((await reserve(h.deps, e, { requestId: 'c', amounts: one })).ok).toBe(true)
    // 'a' was reserved in the first minute: its settle moves that minute, not this one.
    expect(await settle(h.deps, 'a', one)).toBe(true)
    expect(await release(h.deps, 'b')).toBe(true)
    expect(await windows(h, e)).toMatchObject({
      [`requests_per_minute@${first}`]: { used: 1, reserved: 0 },
      [`requests_per_minute@${first + 60}`]: { used: 0, reserved: 1 },
    })
  })

  it('tokens are reserved in the minute and the day as asked and settled to the real usage', async () => {
    const { h, e } = await setup({ tokens_per_minute: 1000, tokens_per_day: 5000 })
    const minute = nowSec(h) - (nowSec(h) % 60)
    const day = minute - (minute % 86_400)
    const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 200 })
    expect((await reserve(h.deps, e, { requestId: 't', amounts: ask })).ok).toBe(true)
    expect(await windows(h, e)).toMatchObject({
      [`tokens_per_minute@${minute}`]: { used: 0, reserved: 300 },
      [`tokens_per_day@${day}`]: { used: 0, reserved: 300 },
    })
    const real = amounts({ requests: 1, tokens_input: 80, tokens_output: 50 })
    expect(await settle(h.deps, 't', real)).toBe(true)
    expect(await windows(h, e)).toMatchObject({
      [`tokens_per_minute@${minute}`]: { used: 130, reserved: 0 },
      [`tokens_per_day@${day}`]: { used: 130, reserved: 0 },
    })
    // 870 left in the minute: an ask of 900 is refused by the window, and changes nothing.
    const big = amounts({ requests: 1, tokens_input: 400, tokens_output: 500 })
    const refused = await reserve(h.deps, e, { requestId: 'big', amounts: big })
    expect(refused).toMatchObject({ ok: false, reason: 'rate', window: 'tokens_per_minute' })
    expect(await windows(h, e)).toMatchObject({
      [`tokens_per_minute@${minute}`]: { used: 130, reserved: 0 },
      [`tokens_per_day@${day}`]: { used: 130, reserved: 0 },
    })
    const period = await h.db
      .selectFrom('billing_quota_counter')
      .select(['requests_reserved'])
      .where('subscription_id', '=', e.subscription.id)
      .where('period_start', '=', e.subscription.current_period_start)
      .executeTakeFirstOrThrow()
    expect(Number(period.requests_reserved)).toBe(0)
  })

  it("a dead process's reservations give their windows back once: the sent one as used, the unsent one freed", async () => {
    const { h, e } = await setup({ requests_per_minute: 5, tokens_per_minute: 1_000 })
    const ask = amounts({ requests: 1, tokens_input: 100, tokens_output: 50 })
    // Another process reserves two requests, then dies: this one never knew them.
    const other = await startReserveWorker(h, e, ['sent', 'unsent'], ask)
    const outcomes = await other.go(Date.now() + 100)
    expect(outcomes.filter((o) => o.ok === true).length, JSON.stringify(outcomes)).toBe(2)
    await h.db
      .updateTable('billing_reservation')
      .set({ sent_at: null })
      .where('request_id', '=', 'unsent')
      .execute()
    const minute = nowSec(h) - (nowSec(h) % 60)
    expect(await windows(h, e)).toMatchObject({
      [`requests_per_minute@${minute}`]: { used: 0, reserved: 2 },
      [`tokens_per_minute@${minute}`]: { used: 0, reserved: 300 },
    })
    h.clock.advance(20_000)
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 1, released: 1 })
    expect(await sweepStaleReservations(h.deps)).toEqual({ settled: 0, released: 0 })
    expect(await windows(h, e)).toMatchObject({
      [`requests_per_minute@${minute}`]: { used: 1, reserved: 0 },
      [`tokens_per_minute@${minute}`]: { used: 150, reserved: 0 },
    })
    const holds = await h.db.selectFrom('billing_rate_window_hold').select('request_id').execute()
    expect(holds).toEqual([])
  })

  it('a plan without windows writes no window rows', async () => {
    const { h, e } = await setup({})
    expect((await reserve(h.deps, e, { requestId: 'n', amounts: one })).ok).toBe(true)
    expect(await settle(h.deps, 'n', one)).toBe(true)
    expect(await windows(h, e)).toEqual({})
  })

  it('the usage retention job prunes windows that are over and keeps the current ones', async () => {
    const { h, e } = await setup({ requests_per_minute: 5, requests_per_day: 100 })
    const start = nowSec(h) - (nowSec(h) % 60)
    expect((await reserve(h.deps, e, { requestId: 'old', amounts: one })).ok).toBe(true)
    expect(await settle(h.deps, 'old', one)).toBe(true)
    h.clock.advance(2 * 3600_000)
    expect((await reserve(h.deps, e, { requestId: 'new', amounts: one })).ok).toBe(true)
    await rollUpAndPrune(h.deps, nowSec(h))
    const left = await windows(h, e)
    const day = start - (start % 86_400)
    // Only the windows the plan sets have rows; the first minute is over, its day is not.
    expect(Object.keys(left).sort()).toEqual(
      [`requests_per_day@${day}`, `requests_per_minute@${start + 7200}`].sort(),
    )
    expect(left[`requests_per_day@${day}`]).toEqual({ used: 1, reserved: 1 })
  })

  it("a day window turns over at midnight in the plan's time zone (Europe/Moscow, UTC+3)", async () => {
    const { h, e } = await setup({ requests_per_day: 1, window_time_zone: 'Europe/Moscow' })
    // The harness clock's day in Moscow: it began at 21:00 UTC the evening before (or today).
    const now = nowSec(h)
    const utcDay = now - (now % 86_400)
    const moscowStart = now - utcDay >= 21 * 3600 ? utcDay + 21 * 3600 : utcDay - 3 * 3600
    expect((await reserve(h.deps, e, { requestId: 'd1', amounts: one })).ok).toBe(true)
    const refused = await reserve(h.deps, e, { requestId: 'd2', amounts: one })
    expect(refused).toMatchObject({
      ok: false,
      reason: 'rate',
      window: 'requests_per_day',
      resetAt: moscowStart + 86_400,
    })
    expect(await windows(h, e)).toEqual({
      [`requests_per_day@${moscowStart}`]: { used: 0, reserved: 1 },
    })
    // One second before Moscow's midnight: still full; at midnight: a new day.
    h.clock.advance((moscowStart + 86_400 - 1 - now) * 1000)
    expect((await reserve(h.deps, e, { requestId: 'd3', amounts: one })).ok).toBe(false)
    h.clock.advance(1000)
    expect((await reserve(h.deps, e, { requestId: 'd4', amounts: one })).ok).toBe(true)
  })
})
