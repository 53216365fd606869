import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { reserve, settle } from '../../src/ledger/service.ts'
import { amounts, call } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

const ADMIN = '/api/v1/billing/admin/subscriptions'
let h: Harness
let admin: string
beforeEach(async () => {
  // A long cache TTL: a grant must still reach this process's cache at once.
  h = await createHarness({ config: { billing: { entitlementCacheMs: 3_600_000 } } })
  admin = await h.adminToken()
})
afterEach(() => h.close())

describe(`admin subscriptions (${TEST_DIALECT})`, () => {
  it('grants a plan for N periods, replacing the live one, and the cache follows at once', async () => {
    expect((await h.deps.entitlements.get('g'))?.plan.id).toBe('free')
    const res = await call(h, 'POST', ADMIN, { user_id: 'g', plan_id: 'pro', periods: 2 }, admin)
    expect(res.status, res.text).toBe(201)
    expect(res.body).toMatchObject({
      user_id: 'g',
      plan_id: 'pro',
      status: 'active',
      cancel_at_period_end: false,
      plan: { id: 'pro', price: 990 },
    })
    expect(res.body.paid_until).toBe(Date.UTC(2026, 2, 15, 12) / 1000)
    expect((await h.deps.entitlements.get('g'))?.plan.id).toBe('pro')
    const subs = await h.db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('user_id', '=', 'g')
      .execute()
    expect(subs.map((s) => [s.plan_id, s.status]).sort()).toEqual([
      ['free', 'canceled'],
      ['pro', 'active'],
    ])
  })

  it("a user's cancel reaches the cache at once", async () => {
    await call(h, 'POST', ADMIN, { user_id: 'k', plan_id: 'pro' }, admin)
    expect((await h.deps.entitlements.get('k'))?.plan.id).toBe('pro')
    const token = await h.token({ sub: 'k' })
    const later = await call(h, 'POST', '/api/v1/billing/subscription/cancel', {}, token)
    expect(later.status, later.text).toBe(200)
    expect((await h.deps.entitlements.get('k'))?.subscription.cancel_at_period_end).toBe(1)
    const now = await call(
      h,
      'POST',
      '/api/v1/billing/subscription/cancel',
      { immediate: true },
      token,
    )
    expect(now.body, now.text).toMatchObject({ status: 'canceled', plan_id: 'pro' })
    expect((await h.deps.entitlements.get('k'))?.plan.id).toBe('free')
  })

  it('lists subscriptions with their current usage, filtered by user, paginated newest first', async () => {
    for (const user of ['a', 'b', 'c']) {
      const g = await call(h, 'POST', ADMIN, { user_id: user, plan_id: 'pro' }, admin)
      expect(g.status, g.text).toBe(201)
    }
    const e = await h.deps.entitlements.get('b')
    await reserve(h.deps, e!, {
      requestId: 'b1',
      amounts: amounts({ requests: 1, tokens_input: 10 }),
    })
    await settle(h.deps, 'b1', amounts({ requests: 1, tokens_input: 12, tokens_output: 3 }))

    const one = await call(h, 'GET', `${ADMIN}?user_id=b`, undefined, admin)
    expect(one.status, one.text).toBe(200)
    expect(one.body.data).toHaveLength(1)
    expect(one.body.data[0]).toMatchObject({
      user_id: 'b',
      plan_id: 'pro',
      usage: {
        requests: { used: 1, reserved: 0, limit: 10000, remaining: 9999 },
        tokens_input: { used: 12, limit: 1000000 },
        tokens_output: { used: 3, limit: 500000 },
      },
    })

    const page1 = await call(h, 'GET', `${ADMIN}?limit=2`, undefined, admin)
    expect(
      page1.body.data.map((s: { user_id: string }) => s.user_id),
      page1.text,
    ).toEqual(['c', 'b'])
    const page2 = await call(
      h,
      'GET',
      `${ADMIN}?limit=2&cursor=${page1.body.next_cursor}`,
      undefined,
      admin,
    )
    expect(
      page2.body.data.map((s: { user_id: string }) => s.user_id),
      page2.text,
    ).toEqual(['a'])
    expect(page2.body.next_cursor).toBeNull()
  })

  it.each([
    ['no user_id', { plan_id: 'pro' }, 'user_id'],
    ['zero periods', { user_id: 'x', plan_id: 'pro', periods: 0 }, 'periods'],
    ['fractional periods', { user_id: 'x', plan_id: 'pro', periods: 1.5 }, 'periods'],
    ['no plan_id', { user_id: 'x' }, 'plan_id'],
  ])('a grant with %s is a 400 naming the field', async (_, body, field) => {
    const res = await call(h, 'POST', ADMIN, body, admin)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.param.split(','), res.text).toContain(field)
  })

  it('a grant of an unknown plan is a 404 naming plan_id, and changes nothing', async () => {
    const res = await call(h, 'POST', ADMIN, { user_id: 'x', plan_id: 'gold' }, admin)
    expect(res.status, res.text).toBe(404)
    expect(res.body.error.param).toBe('plan_id')
    expect(await h.db.selectFrom('billing_subscription').selectAll().execute()).toEqual([])
  })

  it('concurrent grants and first requests for one user leave exactly one live subscription', async () => {
    const work = [
      ...Array.from({ length: 5 }, () =>
        call(h, 'POST', ADMIN, { user_id: 'race', plan_id: 'pro' }, admin),
      ),
      ...Array.from({ length: 5 }, async () =>
        call(h, 'GET', '/api/v1/billing/me', undefined, await h.token({ sub: 'race' })),
      ),
    ]
    const results = await Promise.all(work)
    for (const r of results) expect(r.status, r.text).toBeLessThan(300)
    const live = await h.db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('user_id', '=', 'race')
      .where('status', 'in', ['active', 'past_due'])
      .execute()
    expect(live.map((s) => s.plan_id)).toEqual(['pro'])
  })
})
