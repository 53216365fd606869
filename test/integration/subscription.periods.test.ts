import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rollOverEndedSubscriptions } from '../../src/billing/rollover.job.ts'
import { reserve, settle } from '../../src/ledger/service.ts'
import { amounts, call, createPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(() => h.close())

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000', '')
const setTime = (isoTime: string) => h.clock.set(Date.parse(isoTime))

/** Each call signs a fresh token at the clock's current time (tokens expire as time moves). */
async function asUser(method: string, path: string, user: string, body?: unknown) {
  return call(h, method, path, body, await h.token({ sub: user }))
}
async function subscriptionOf(user: string) {
  const res = await asUser('GET', '/api/v1/billing/subscription', user)
  expect(res.status, res.text).toBe(200)
  return res.body
}
const period = (s: { current_period_start: number; current_period_end: number }) => [
  iso(s.current_period_start),
  iso(s.current_period_end),
]
async function grant(user: string, planId: string, periods: number) {
  const res = await call(
    h,
    'POST',
    '/api/v1/billing/admin/subscriptions',
    { user_id: user, plan_id: planId, periods },
    await h.adminToken(),
  )
  expect(res.status, res.text).toBe(201)
  return res.body
}
async function historyOf(user: string) {
  const res = await call(
    h,
    'GET',
    `/api/v1/billing/admin/subscriptions?user_id=${user}`,
    undefined,
    await h.adminToken(),
  )
  expect(res.status, res.text).toBe(200)
  return res.body.data as Array<{ plan_id: string; status: string }>
}
/** Uses `n` requests of the user's current period through the ledger, as the proxy would. */
async function useRequests(user: string, n: number) {
  const e = await h.deps.entitlements.get(user)
  for (let i = 0; i < n; i++) {
    const id = `${user}-${h.clock.now()}-${i}`
    const r = await reserve(h.deps, e!, { requestId: id, amounts: amounts({ requests: 1 }) })
    expect(r.ok, JSON.stringify(r)).toBe(true)
    await settle(h.deps, id, amounts({ requests: 1 }))
  }
}

describe(`subscription periods on the test clock (${TEST_DIALECT})`, () => {
  it('a monthly plan granted on Jan 31 runs Jan 31 -> Feb 28 -> Mar 31 -> Apr 30, then expires to the default plan', async () => {
    setTime('2026-01-31T12:00:00Z')
    const granted = await grant('m', 'pro', 3)
    expect(period(granted)).toEqual(['2026-01-31T12:00:00Z', '2026-02-28T12:00:00Z'])
    expect(iso(granted.paid_until)).toBe('2026-04-30T12:00:00Z')

    setTime('2026-02-28T11:59:59Z')
    expect(period(await subscriptionOf('m'))).toEqual([
      '2026-01-31T12:00:00Z',
      '2026-02-28T12:00:00Z',
    ])
    setTime('2026-02-28T12:00:00Z')
    expect(period(await subscriptionOf('m'))).toEqual([
      '2026-02-28T12:00:00Z',
      '2026-03-31T12:00:00Z',
    ])
    setTime('2026-04-01T00:00:00Z')
    const april = await subscriptionOf('m')
    expect(april).toMatchObject({ plan_id: 'pro', status: 'active', id: granted.id })
    expect(period(april)).toEqual(['2026-03-31T12:00:00Z', '2026-04-30T12:00:00Z'])

    setTime('2026-04-30T12:00:00Z')
    const after = await subscriptionOf('m')
    expect(after, JSON.stringify(after)).toMatchObject({ plan_id: 'free', status: 'active' })
    expect(period(after)).toEqual(['2026-04-30T12:00:00Z', '2026-05-30T12:00:00Z'])
    const history = await historyOf('m')
    expect(history.map((s) => [s.plan_id, s.status])).toEqual([
      ['free', 'active'],
      ['pro', 'expired'],
    ])
  })

  it('uses Feb 29 in a leap year', async () => {
    setTime('2028-01-31T00:00:00Z')
    const granted = await grant('leap', 'pro', 2)
    expect(period(granted)).toEqual(['2028-01-31T00:00:00Z', '2028-02-29T00:00:00Z'])
    setTime('2028-03-01T00:00:00Z')
    expect(period(await subscriptionOf('leap'))).toEqual([
      '2028-02-29T00:00:00Z',
      '2028-03-31T00:00:00Z',
    ])
  })

  it('a yearly plan started on Feb 29 renews on Feb 28 of the next years', async () => {
    await createPlan(h, { id: 'year', name: 'Yearly', price: 9900, interval: 'year' })
    setTime('2028-02-29T09:00:00Z')
    const granted = await grant('y', 'year', 2)
    expect(period(granted)).toEqual(['2028-02-29T09:00:00Z', '2029-02-28T09:00:00Z'])
    setTime('2029-06-01T00:00:00Z')
    expect(period(await subscriptionOf('y'))).toEqual([
      '2029-02-28T09:00:00Z',
      '2030-02-28T09:00:00Z',
    ])
    setTime('2030-02-28T09:00:00Z')
    expect(await subscriptionOf('y')).toMatchObject({ plan_id: 'free' })
  })

  it('a daily plan rolls over every day and each new period starts with its usage at zero', async () => {
    await createPlan(h, {
      id: 'day',
      name: 'Daily',
      price: 10,
      interval: 'day',
      quotas: { requests: 2 },
    })
    setTime('2026-03-10T08:00:00Z')
    await grant('d', 'day', 30)
    await useRequests('d', 2)
    const spent = await asUser('GET', '/api/v1/billing/usage/requests', 'd')
    expect(spent.body, spent.text).toMatchObject({ used: 2, limit: 2, remaining: 0 })
    expect(iso(spent.body.period_end)).toBe('2026-03-11T08:00:00Z')
    const refused = await reserve(h.deps, (await h.deps.entitlements.get('d'))!, {
      requestId: 'd-refused',
      amounts: amounts({ requests: 1 }),
    })
    expect(refused, JSON.stringify(refused)).toMatchObject({ ok: false, metric: 'requests' })

    setTime('2026-03-11T08:00:00Z')
    const fresh = await asUser('GET', '/api/v1/billing/usage/requests', 'd')
    expect(fresh.body, fresh.text).toMatchObject({ used: 0, reserved: 0, limit: 2, remaining: 2 })
    expect([iso(fresh.body.period_start), iso(fresh.body.period_end)]).toEqual([
      '2026-03-11T08:00:00Z',
      '2026-03-12T08:00:00Z',
    ])
    await useRequests('d', 2)
  })

  it('the free default plan rolls over month after month, its usage reset each time', async () => {
    setTime('2026-01-31T12:00:00Z')
    await useRequests('f', 3)
    const jan = await asUser('GET', '/api/v1/billing/usage/requests', 'f')
    expect(jan.body, jan.text).toMatchObject({ used: 3, limit: 1000, remaining: 997 })
    setTime('2026-03-15T00:00:00Z')
    const mar = await asUser('GET', '/api/v1/billing/usage/requests', 'f')
    expect(mar.body, mar.text).toMatchObject({ used: 0, remaining: 1000 })
    expect([iso(mar.body.period_start), iso(mar.body.period_end)]).toEqual([
      '2026-02-28T12:00:00Z',
      '2026-03-31T12:00:00Z',
    ])
  })

  it('cancel at period end: stays active with its quota until the paid time ends, then back to the default plan', async () => {
    setTime('2026-01-15T12:00:00Z')
    await grant('c', 'pro', 1)
    const res = await asUser('POST', '/api/v1/billing/subscription/cancel', 'c', {
      immediate: false,
    })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({
      plan_id: 'pro',
      status: 'active',
      cancel_at_period_end: true,
      auto_renew: false,
    })
    setTime('2026-02-15T11:59:59Z')
    expect(await subscriptionOf('c')).toMatchObject({ plan_id: 'pro', cancel_at_period_end: true })
    setTime('2026-02-15T12:00:00Z')
    const after = await subscriptionOf('c')
    expect(after).toMatchObject({ plan_id: 'free', status: 'active', cancel_at_period_end: false })
    expect((await historyOf('c')).map((s) => [s.plan_id, s.status])).toEqual([
      ['free', 'active'],
      ['pro', 'canceled'],
    ])
  })

  it('immediate cancel: the paid plan ends now and the user is on the default plan with a fresh quota', async () => {
    setTime('2026-01-15T12:00:00Z')
    await grant('i', 'pro', 3)
    await useRequests('i', 5)
    setTime('2026-01-20T00:00:00Z')
    const res = await asUser('POST', '/api/v1/billing/subscription/cancel', 'i', {
      immediate: true,
    })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ plan_id: 'pro', status: 'canceled' })
    const now = await subscriptionOf('i')
    expect(now).toMatchObject({ plan_id: 'free', status: 'active', paid_until: null })
    expect(iso(now.current_period_start)).toBe('2026-01-20T00:00:00Z')
    // The proxy's cached entitlement moved with it (invalidated in this process).
    expect((await h.deps.entitlements.get('i'))?.plan.id).toBe('free')
    const usage = await asUser('GET', '/api/v1/billing/usage/requests', 'i')
    expect(usage.body, usage.text).toMatchObject({ used: 0, limit: 1000 })
  })

  it('the rollover job ends and rolls periods of users who make no request', async () => {
    setTime('2026-01-15T12:00:00Z')
    await grant('idle-pro', 'pro', 1)
    await subscriptionOf('idle-free')
    setTime('2026-02-15T11:00:00Z')
    expect(await rollOverEndedSubscriptions(h.deps)).toBe(0)
    setTime('2026-02-16T00:00:00Z')
    expect(await rollOverEndedSubscriptions(h.deps)).toBe(2)
    const rows = await h.db
      .selectFrom('billing_subscription')
      .select(['user_id', 'plan_id', 'status', 'current_period_start'])
      .where('user_id', 'in', ['idle-pro', 'idle-free'])
      .orderBy('user_id')
      .orderBy('status')
      .execute()
    expect(rows.map((r) => [r.user_id, r.plan_id, r.status, iso(r.current_period_start)])).toEqual([
      ['idle-free', 'free', 'active', '2026-02-15T12:00:00Z'],
      ['idle-pro', 'free', 'active', '2026-02-16T00:00:00Z'],
      ['idle-pro', 'pro', 'expired', '2026-01-15T12:00:00Z'],
    ])
    expect(await rollOverEndedSubscriptions(h.deps)).toBe(0)
  })

  it('the default plan cannot be canceled (400), and nothing changes', async () => {
    const before = await subscriptionOf('free-user')
    for (const immediate of [true, false]) {
      const res = await asUser('POST', '/api/v1/billing/subscription/cancel', 'free-user', {
        immediate,
      })
      expect(res.status, res.text).toBe(400)
    }
    expect(await subscriptionOf('free-user')).toEqual(before)
  })
})

describe(`a deployment without a default plan (${TEST_DIALECT})`, () => {
  it('answers 404 for the subscription, nulls in /me, and 404 for usage', async () => {
    const bare = await createHarness({ config: { plans: [] } })
    try {
      const token = await bare.token({ sub: 'nobody' })
      const sub = await call(bare, 'GET', '/api/v1/billing/subscription', undefined, token)
      expect(sub.status, sub.text).toBe(404)
      const me = await call(bare, 'GET', '/api/v1/billing/me', undefined, token)
      expect(me.status, me.text).toBe(200)
      expect(me.body).toMatchObject({ subscription: null, plan: null, usage: {} })
      const usage = await call(bare, 'GET', '/api/v1/billing/usage/requests', undefined, token)
      expect(usage.status, usage.text).toBe(404)
      expect(await bare.deps.entitlements.get('nobody')).toBeNull()
    } finally {
      await bare.close()
    }
  })
})
