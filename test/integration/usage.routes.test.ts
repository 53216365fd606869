import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { reserve, settle } from '../../src/ledger/service.ts'
import { amounts, call, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

let h: Harness
let e: Entitlement
let token: string
beforeEach(async () => {
  h = await createHarness()
  // tokens_output unlimited (null): counted, never refused.
  e = await userOnPlan(h, 'u', {
    id: 'metered',
    quotas: { requests: 100, tokens_input: 1000, tokens_output: null },
  })
  token = await h.token({ sub: 'u', email: 'u@example.com' })
  await reserve(h.deps, e, {
    requestId: 'done',
    amounts: amounts({ requests: 1, tokens_input: 100 }),
  })
  await settle(h.deps, 'done', amounts({ requests: 1, tokens_input: 120, tokens_output: 30 }))
  await reserve(h.deps, e, {
    requestId: 'open',
    amounts: amounts({ requests: 1, tokens_input: 200 }),
  })
})
afterEach(() => h.close())

describe(`usage routes (${TEST_DIALECT})`, () => {
  it('GET /usage/{metric} answers used, reserved, limit, remaining and the period', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/usage/tokens_input', undefined, token)
    expect(res.status, res.text).toBe(200)
    expect(res.body).toEqual({
      metric: 'tokens_input',
      unit: 'tokens', // no model weights configured: raw tokens, as the seed counts
      used: 120,
      reserved: 200,
      limit: 1000,
      remaining: 680,
      period_start: e.subscription.current_period_start,
      period_end: e.subscription.current_period_end,
      // The classes within the input this period (docs/metering.md): none reported here.
      token_classes: { cached_input: 0, cache_write: 0, audio_input: 0 },
    })
    const out = await call(h, 'GET', '/api/v1/billing/usage/tokens_output', undefined, token)
    expect(out.body, out.text).toMatchObject({ used: 30, limit: null, remaining: null })
  })

  it('reads the counters, never sums billing_usage', async () => {
    // A usage row without a counter change (history only) must not show up as used.
    await h.db
      .insertInto('billing_usage')
      .values({
        id: 'history-1',
        user_id: 'u',
        subscription_id: e.subscription.id,
        ...{ requests: 50, tokens_input: 0, tokens_output: 0 },
        ...{ raw_input: null, raw_output: null, cost_input_micros: null, cost_output_micros: null },
        model_id: null,
        chat_id: null,
        request_id: 'imported',
        estimated: 0,
        created_at: Math.floor(h.clock.now() / 1000),
      })
      .execute()
    const res = await call(h, 'GET', '/api/v1/billing/usage/requests', undefined, token)
    expect(res.body, res.text).toMatchObject({ used: 1, reserved: 1, remaining: 98 })
  })

  it('an unknown metric is a 400 naming it', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/usage/images', undefined, token)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error, res.text).toMatchObject({ code: 'unknown_metric', param: 'metric' })
  })

  it('POST /usage/check answers whether an amount fits and reserves nothing', async () => {
    const before = await counters(h, e)
    const fits = await call(
      h,
      'POST',
      '/api/v1/billing/usage/check',
      { metric: 'tokens_input', amount: 680 },
      token,
    )
    expect(fits.status, fits.text).toBe(200)
    expect(fits.body).toEqual({
      allowed: true,
      metric: 'tokens_input',
      unit: 'tokens',
      amount: 680,
      used: 120,
      limit: 1000,
      remaining: 680,
    })
    const over = await call(
      h,
      'POST',
      '/api/v1/billing/usage/check',
      { metric: 'tokens_input', amount: 681 },
      token,
    )
    expect(over.body, over.text).toMatchObject({ allowed: false, remaining: 680 })
    const unlimited = await call(
      h,
      'POST',
      '/api/v1/billing/usage/check',
      { metric: 'tokens_output', amount: 10 ** 12 },
      token,
    )
    expect(unlimited.body, unlimited.text).toMatchObject({
      allowed: true,
      limit: null,
      remaining: null,
    })
    expect(await counters(h, e)).toEqual(before)
    const rows = await h.db.selectFrom('billing_reservation').select('request_id').execute()
    expect(rows.map((r) => r.request_id)).toEqual(['open'])
  })

  it.each([
    ['a negative amount', { metric: 'requests', amount: -1 }, 'amount'],
    ['a fractional amount', { metric: 'requests', amount: 1.5 }, 'amount'],
    ['an amount as a string', { metric: 'requests', amount: '5' }, 'amount'],
    ['no amount', { metric: 'requests' }, 'amount'],
    ['an unknown metric', { metric: 'images', amount: 1 }, 'metric'],
  ])('POST /usage/check with %s is a 400 naming the field', async (_, body, field) => {
    const res = await call(h, 'POST', '/api/v1/billing/usage/check', body, token)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.param.split(','), res.text).toContain(field)
  })

  it('GET /me answers the user, subscription, plan and usage per metric', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/me', undefined, token)
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({
      user: { id: 'u', email: 'u@example.com', role: 'user' },
      subscription: { id: e.subscription.id, plan_id: 'metered', status: 'active' },
      plan: { id: 'metered', quotas: { requests: 100, tokens_input: 1000, tokens_output: null } },
      usage: {
        requests: { used: 1, limit: 100, remaining: 98 },
        tokens_input: { used: 120, limit: 1000, remaining: 680 },
        tokens_output: { used: 30, limit: null, remaining: null },
      },
    })
  })

  it('GET /subscription answers the API.md shape with its plan', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/subscription', undefined, token)
    expect(res.status, res.text).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'id',
        'user_id',
        'plan_id',
        'status',
        'current_period_start',
        'current_period_end',
        'cancel_at_period_end',
        'auto_renew',
        'paid_until',
        'created_at',
        'updated_at',
        'plan',
      ].sort(),
    )
    expect(res.body).toMatchObject({
      cancel_at_period_end: false,
      auto_renew: false,
      plan: { id: 'metered' },
    })
  })

  it('a first-time user is put on the default plan', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/me', undefined, await h.token({ sub: 'new' }))
    expect(res.body, res.text).toMatchObject({
      subscription: { plan_id: 'free', status: 'active', paid_until: null },
      usage: { requests: { used: 0, limit: 1000, remaining: 1000 } },
    })
  })
})
