import { describe, expect, it } from 'vitest'
import { call, createPlan } from '../helpers/billing.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Usage belongs to the user, not to the subscription row (docs/access.md):
 * within one period of the default plan, the used amounts are the same
 * whatever paid subscriptions came and went. A paid plan starts its own quota.
 * Real checkout through the fake YooKassa, real proxy calls through the fake
 * upstream, amounts read back over GET /api/v1/billing/me.
 */
const f = usePaymentsFixture({ upstream: true })

const FREE_USED = { requests: 1, tokens_input: 3_000, tokens_output: 60 }
const NONE_USED = { requests: 0, tokens_input: 0, tokens_output: 0 }

/** One proxied call that the upstream reports as 3,000 tokens in and 60 out. */
async function spend(user: string, model = 'gpt-4o-mini') {
  f.upstream!.once({ usage: { input: 3_000, output: 60 } })
  const token = await f.h.token({ sub: user })
  const res = await fetch(`${f.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status, await res.text()).toBe(200)
}

/** The plan and the used amounts the user sees, as GET /me answers them. */
async function me(user: string) {
  const res = await call(
    f.h,
    'GET',
    '/api/v1/billing/me',
    undefined,
    await f.h.token({ sub: user }),
  )
  expect(res.status, res.text).toBe(200)
  const usage = res.body.usage as Record<string, { used: number }>
  return {
    plan: res.body.plan.id as string,
    used: Object.fromEntries(Object.entries(usage).map(([metric, u]) => [metric, u.used])),
  }
}

async function admin(method: string, path: string, body?: unknown) {
  const res = await call(f.h, method, path, body, await f.h.adminToken())
  expect(res.status, res.text).toBeLessThan(300)
  return res.body
}

const at = (iso: string) => f.h.clock.set(Date.parse(iso))

describe(`usage across plan changes (${TEST_DIALECT})`, () => {
  it('free -> buy pro -> cancel at once: back on free with the same used amounts', async () => {
    await spend('u1')
    expect(await me('u1')).toEqual({ plan: 'free', used: FREE_USED })

    await f.creditedCheckout('u1')
    // A paid plan bought mid-period starts its own quota.
    expect(await me('u1')).toEqual({ plan: 'pro', used: NONE_USED })
    await spend('u1', 'gpt-4o')

    const cancel = await call(
      f.h,
      'POST',
      '/api/v1/billing/subscription/cancel',
      { immediate: true },
      await f.h.token({ sub: 'u1' }),
    )
    expect(cancel.status, cancel.text).toBe(200)
    expect(await me('u1')).toEqual({ plan: 'free', used: FREE_USED })

    // The same counters go on: the free quota is not handed out twice.
    await spend('u1')
    expect(await me('u1')).toEqual({
      plan: 'free',
      used: { requests: 2, tokens_input: 6_000, tokens_output: 120 },
    })
  })

  it('free -> buy pro -> full refund: back on free with the same used amounts', async () => {
    await spend('u1')
    const paid = await f.creditedCheckout('u1')
    expect((await me('u1')).plan).toBe('pro')
    await admin('POST', `/api/v1/billing/admin/transactions/${paid.transaction_id}/refund`, {})
    expect(await me('u1')).toEqual({ plan: 'free', used: FREE_USED })
  })

  it('free -> a weekly plan that expires: back on free with the same used amounts until the free period ends', async () => {
    await createPlan(f.h, { id: 'week', name: 'Week', price: 100, interval: 'week' })
    at('2026-01-15T12:00:00Z')
    await spend('u2')
    at('2026-01-16T12:00:00Z')
    await admin('POST', '/api/v1/billing/admin/subscriptions', {
      user_id: 'u2',
      plan_id: 'week',
      periods: 1,
    })
    expect(await me('u2')).toEqual({ plan: 'week', used: NONE_USED })

    at('2026-01-23T12:00:01Z')
    expect(await me('u2')).toEqual({ plan: 'free', used: FREE_USED })
    // The free period (Jan 15 -> Feb 15, from the user's first day) ends as it always did.
    at('2026-02-15T12:00:00Z')
    expect(await me('u2')).toEqual({ plan: 'free', used: NONE_USED })
  })

  it('an admin who grants pro and then the default plan back leaves the free usage as it was', async () => {
    await spend('u3')
    await admin('POST', '/api/v1/billing/admin/subscriptions', { user_id: 'u3', plan_id: 'pro' })
    await admin('POST', '/api/v1/billing/admin/subscriptions', { user_id: 'u3', plan_id: 'free' })
    expect(await me('u3')).toEqual({ plan: 'free', used: FREE_USED })
    // Granting the plan the user is already on changes nothing either.
    await admin('POST', '/api/v1/billing/admin/subscriptions', { user_id: 'u3', plan_id: 'free' })
    expect(await me('u3')).toEqual({ plan: 'free', used: FREE_USED })
  })
})
