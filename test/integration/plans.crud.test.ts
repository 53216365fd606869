import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { call, createPlan, SEED_CURL_BODY } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

const PLANS = '/api/v1/billing/plans'
let h: Harness
let admin: string
beforeEach(async () => {
  // No config plans: the seed's own ids (free, pro) are created here through the API.
  h = await createHarness({ config: { plans: [] } })
  admin = await h.adminToken()
})
afterEach(() => h.close())

/** The seed's setup_plans.py PlanModel objects, as JSON (created_at = int(time.time())). */
function seedPythonPlans(now: number) {
  return [
    {
      id: 'free',
      name: 'Free',
      name_ru: 'Бесплатный',
      description: 'Basic access to AI models',
      description_ru: 'Базовый доступ к AI моделям',
      price: 0.0,
      currency: 'RUB',
      interval: 'month',
      quotas: { tokens_input: 100000, tokens_output: 50000, requests: 1000 },
      features: ['gpt35_access'],
      is_active: true,
      display_order: 0,
      created_at: now,
      updated_at: now,
    },
    {
      id: 'pro',
      // The curl body's Pro (reference/seed.md) without its priority_support feature.
      ...SEED_CURL_BODY,
      features: ['gpt4_access', 'claude_access'],
      created_at: now,
      updated_at: now,
    },
  ]
}

/** A plan as the API shows it: the seed's quotas plus the in-flight limit in force (docs/quotas.md). */
function withInFlightLimit<T extends { quotas: object }>(plan: T): T {
  const limit = h.deps.config.quota.defaultMaxConcurrentRequests
  return { ...plan, quotas: { ...plan.quotas, max_concurrent_requests: limit } }
}

describe(`plans API (${TEST_DIALECT})`, () => {
  it("round-trips the seed's curl body through POST and GET unchanged (id generated)", async () => {
    const created = await createPlan(h, SEED_CURL_BODY)
    expect(created, JSON.stringify(created)).toMatchObject(SEED_CURL_BODY)
    expect(created.id).toEqual(expect.any(String))
    const list = await call(h, 'GET', PLANS)
    expect(list.status, list.text).toBe(200)
    const { id, created_at, updated_at, ...rest } = list.body.find(
      (p: { id: string }) => p.id === created.id,
    )
    expect(rest, list.text).toEqual(withInFlightLimit(SEED_CURL_BODY))
    expect([created_at, updated_at]).toEqual([h.clock.now() / 1000, h.clock.now() / 1000])
    // The raw JSON keeps the price a number, 990 exactly.
    expect(list.text).toContain('"price":990,')
  })

  it("accepts the seed's curl -d text byte for byte (price written 990.00)", async () => {
    const curlText = `{
    "name": "Pro",
    "name_ru": "Профессиональный",
    "description": "Advanced features and higher quotas",
    "description_ru": "Расширенные возможности и увеличенные квоты",
    "price": 990.00,
    "currency": "RUB",
    "interval": "month",
    "quotas": {
      "tokens_input": 1000000,
      "tokens_output": 500000,
      "requests": 10000
    },
    "features": [
      "gpt4_access",
      "claude_access",
      "priority_support"
    ],
    "is_active": true,
    "display_order": 1
  }`
    const res = await h.request(PLANS, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h.auth(admin) },
      body: curlText,
    })
    const text = await res.text()
    expect(res.status, text).toBe(201)
    expect(JSON.parse(text), text).toMatchObject(JSON.parse(curlText))
  })

  it("round-trips the seed's two Python plans through POST and GET unchanged", async () => {
    const plans = seedPythonPlans(h.clock.now() / 1000)
    for (const plan of plans) await createPlan(h, plan)
    const list = await call(h, 'GET', PLANS)
    expect(list.status, list.text).toBe(200)
    expect(list.body, list.text).toEqual(plans.map(withInFlightLimit))
  })

  it('keeps prices exact to the kopeck, given as a number or a string', async () => {
    const a = await createPlan(h, { id: 'a', name: 'A', price: 1234.56 })
    const b = await createPlan(h, { id: 'b', name: 'B', price: '0.10' })
    const c = await createPlan(h, { id: 'c', name: 'C', price: '990.00' })
    expect([a.price, b.price, c.price]).toEqual([1234.56, 0.1, 990])
    const rows = await h.db
      .selectFrom('billing_plan')
      .select(['id', 'price'])
      .orderBy('id')
      .execute()
    expect(rows.map((r) => Number(r.price))).toEqual([123456, 10, 99000])
  })

  it('applies defaults: RUB, monthly, no features, active, unlimited quotas', async () => {
    const p = await createPlan(h, { id: 'min', name: 'Minimal', price: 5 })
    expect(p).toMatchObject({
      currency: 'RUB',
      interval: 'month',
      features: [],
      is_active: true,
      display_order: 0,
      quotas: { tokens_input: null, tokens_output: null, requests: null },
      name_ru: null,
      description: null,
    })
  })

  it('answers 409 on a duplicate id and leaves the first plan as it was', async () => {
    await createPlan(h, { id: 'dup', name: 'First', price: 1 })
    const again = await call(h, 'POST', PLANS, { id: 'dup', name: 'Second', price: 2 }, admin)
    expect(again.status, again.text).toBe(409)
    expect(again.body.error).toMatchObject({ code: 'conflict', param: 'id' })
    const list = await call(h, 'GET', PLANS)
    expect(list.body.find((p: { id: string }) => p.id === 'dup')).toMatchObject({
      name: 'First',
      price: 1,
    })
  })

  it('lists only active plans, by display_order', async () => {
    await createPlan(h, { id: 'third', name: 'T', price: 3, display_order: 3 })
    await createPlan(h, { id: 'first', name: 'F', price: 1, display_order: 1 })
    await createPlan(h, { id: 'hidden', name: 'H', price: 2, display_order: 2, is_active: false })
    const list = await call(h, 'GET', PLANS)
    expect(
      list.body.map((p: { id: string }) => p.id),
      list.text,
    ).toEqual(['first', 'third'])
  })

  it('PATCH changes only the given fields and merges quotas per metric', async () => {
    await createPlan(h, SEED_CURL_BODY)
    const [plan] = (await call(h, 'GET', PLANS)).body
    h.clock.advance(60_000)
    const patched = await call(
      h,
      'PATCH',
      `${PLANS}/${plan.id}`,
      { price: '1490.50', quotas: { requests: 20000, tokens_output: null } },
      admin,
    )
    expect(patched.status, patched.text).toBe(200)
    expect(patched.body).toEqual({
      ...plan,
      price: 1490.5,
      quotas: { ...plan.quotas, tokens_output: null, requests: 20000 },
      updated_at: plan.updated_at + 60,
    })
    const missing = await call(h, 'PATCH', `${PLANS}/nope`, { name: 'X' }, admin)
    expect(missing.status, missing.text).toBe(404)
  })

  it('DELETE removes an unused plan (204) and deactivates one in use (204, kept for its subscribers)', async () => {
    await createPlan(h, { id: 'unused', name: 'U', price: 1 })
    await createPlan(h, { id: 'used', name: 'Used', price: 1, quotas: { requests: 5 } })
    const grant = await call(
      h,
      'POST',
      '/api/v1/billing/admin/subscriptions',
      { user_id: 'u1', plan_id: 'used', periods: 1 },
      admin,
    )
    expect(grant.status, grant.text).toBe(201)

    const del1 = await call(h, 'DELETE', `${PLANS}/unused`, undefined, admin)
    expect(del1.status, del1.text).toBe(204)
    const del2 = await call(h, 'DELETE', `${PLANS}/used`, undefined, admin)
    expect(del2.status, del2.text).toBe(204)
    const rows = await h.db.selectFrom('billing_plan').select(['id', 'is_active']).execute()
    expect(rows.map((r) => [r.id, Number(r.is_active)])).toEqual([['used', 0]])
    expect((await call(h, 'GET', PLANS)).body).toEqual([])
    // The subscriber keeps the deactivated plan.
    const sub = await call(
      h,
      'GET',
      '/api/v1/billing/subscription',
      undefined,
      await h.token({ sub: 'u1' }),
    )
    expect(sub.body, sub.text).toMatchObject({ plan_id: 'used', plan: { is_active: false } })
    const gone = await call(h, 'DELETE', `${PLANS}/unused`, undefined, admin)
    expect(gone.status, gone.text).toBe(404)
  })

  it('DELETE keeps a plan with a payment still in flight (its webhook must find it)', async () => {
    await createPlan(h, { id: 'paying', name: 'P', price: 1 })
    await h.db
      .insertInto('billing_transaction')
      .values({
        id: 't1',
        user_id: 'u1',
        plan_id: 'paying',
        kind: 'payment',
        amount: 100,
        currency: 'RUB',
        status: 'pending',
        provider: 'yookassa',
        provider_payment_id: null,
        idempotence_key: 'k1',
        description: null,
        metadata: '{}',
        refunded_amount: 0,
        parent_id: null,
        created_at: 1,
        updated_at: 1,
      })
      .execute()
    const del = await call(h, 'DELETE', `${PLANS}/paying`, undefined, admin)
    expect(del.status, del.text).toBe(204)
    const row = await h.db.selectFrom('billing_plan').selectAll().executeTakeFirst()
    expect(row && Number(row.is_active)).toBe(0)
  })

  it('a plan change reaches the entitlement cache at once (all users invalidated)', async () => {
    const h2 = await createHarness({ config: { billing: { entitlementCacheMs: 3_600_000 } } })
    try {
      const before = await h2.deps.entitlements.get('cached-user')
      expect(before?.plan.quotas.requests).toBe(1000)
      const res = await call(h2, 'PATCH', `${PLANS}/free`, { quotas: { requests: 7 } }, admin)
      expect(res.status, res.text).toBe(200)
      const after = await h2.deps.entitlements.get('cached-user')
      expect(after?.plan.quotas.requests).toBe(7)
    } finally {
      await h2.close()
    }
  })
})
