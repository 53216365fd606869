import { describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { usePaymentsFixtureOnDemand } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixtureOnDemand()
const DAY = 86_400

async function createCode(body: Record<string, unknown>) {
  const res = await f.h.json(
    'POST',
    '/api/v1/billing/admin/promo-codes',
    { label: 'gift', ...body },
    await f.h.adminToken(),
  )
  const created = (await res.json()) as Record<string, unknown> & { code: string; id: string }
  expect(res.status, JSON.stringify(created)).toBe(201)
  return created
}

async function redeem(user: string, code: string) {
  const res = await f.h.json(
    'POST',
    '/api/v1/billing/promo-codes/redeem',
    { code },
    await f.h.token({ sub: user, email: `${user}@example.com` }),
  )
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

describe('promo codes', () => {
  it('are stored hashed: the code is shown once, and nothing stored contains it', async () => {
    await f.start()
    const created = await createCode({
      code: 'Spring-2026-Pro',
      kind: 'plan_days',
      plan_id: 'pro',
      days: 7,
    })
    expect(created.code).toBe('Spring-2026-Pro')
    expect(created.hint).toBe('…6PRO')
    const rows = await f.h.db.selectFrom('promo_code').selectAll().execute()
    expect(JSON.stringify(rows)).not.toMatch(/SPRING|spring-2026/i)
    const listed = await f.h.request('/api/v1/billing/admin/promo-codes', {
      headers: f.h.auth(await f.h.adminToken()),
    })
    expect(JSON.stringify(await listed.json())).not.toMatch(/SPRING2026/i)
    // Case, spaces and dashes do not matter to the payer.
    const r = await redeem('u1', ' spring 2026-pro ')
    expect(r.status, JSON.stringify(r.body)).toBe(200)
  })

  it('grant plan days: a free user gets pro for exactly the days, then falls back to free', async () => {
    await f.start()
    const { code } = await createCode({ kind: 'plan_days', plan_id: 'pro', days: 7 })
    const start = nowSeconds(f.h.clock)
    const r = await redeem('u1', code)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect(r.body).toMatchObject({
      kind: 'plan_days',
      plan_id: 'pro',
      days: 7,
      paid_until: start + 7 * DAY,
    })
    const sub = await findLiveSubscription(f.h.db, 'u1')
    expect(sub).toMatchObject({
      plan_id: 'pro',
      paid_until: start + 7 * DAY,
      current_period_end: start + 7 * DAY,
    })

    // The gift ends with its days, not with the plan's month.
    f.h.clock.set((start + 7 * DAY + 60) * 1000)
    const after = await f.h.request('/api/v1/billing/subscription', {
      headers: f.h.auth(await f.h.token({ sub: 'u1' })),
    })
    expect(((await after.json()) as { plan: { id: string } }).plan.id).toBe('free')
  })

  it('grant plan days to a payer of the same plan: their paid time grows by the days', async () => {
    await f.start()
    await f.creditedCheckout('u1')
    const before = (await findLiveSubscription(f.h.db, 'u1'))!
    const { code } = await createCode({ kind: 'plan_days', plan_id: 'pro', days: 10 })
    const r = await redeem('u1', code)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const after = (await findLiveSubscription(f.h.db, 'u1'))!
    expect(after.id).toBe(before.id)
    expect(after.paid_until).toBe(before.paid_until! + 10 * DAY)
  })

  it('never takes paid time away: days of another plan are refused to a payer, and the code stays unused', async () => {
    await f.start()
    await f.creditedCheckout('u1')
    await f.h.db
      .insertInto('billing_plan')
      .values({
        ...(await f.h.db
          .selectFrom('billing_plan')
          .selectAll()
          .where('id', '=', 'pro')
          .executeTakeFirstOrThrow()),
        id: 'max',
        name: 'Max',
      })
      .execute()
    const { code, id } = await createCode({
      kind: 'plan_days',
      plan_id: 'max',
      days: 5,
      max_uses: 1,
    })
    const r = await redeem('u1', code)
    expect(r.status, JSON.stringify(r.body)).toBe(409)
    expect(r.body.error.message).toMatch(/paid until/)
    expect((await findLiveSubscription(f.h.db, 'u1'))?.plan_id).toBe('pro')
    const row = await f.h.db
      .selectFrom('promo_code')
      .select('uses')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    expect(row.uses).toBe(0)
    expect(await f.h.db.selectFrom('promo_redemption').selectAll().execute()).toEqual([])
  })

  it('a single-use code redeemed by two users at once is redeemed once; a user redeems a code once', async () => {
    await f.start()
    const single = await createCode({ kind: 'discount', percent_off: 20, max_uses: 1 })
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((u) => redeem(u, single.code)))
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409])
    const row = await f.h.db
      .selectFrom('promo_code')
      .select('uses')
      .where('id', '=', single.id)
      .executeTakeFirstOrThrow()
    expect(row.uses).toBe(1)
    expect(await f.h.db.selectFrom('promo_redemption').selectAll().execute()).toHaveLength(1)

    const many = await createCode({ kind: 'discount', percent_off: 10 })
    const twice = await Promise.all([redeem('e', many.code), redeem('e', many.code)])
    expect(twice.map((r) => r.status).sort()).toEqual([200, 409])
    expect(twice.find((r) => r.status === 409)?.body.error.message).toMatch(/already/)
  })

  it('expired, disabled and unknown codes read the same: 404, nothing stored', async () => {
    await f.start()
    const expired = await createCode({
      kind: 'discount',
      percent_off: 10,
      expires_at: nowSeconds(f.h.clock) + 60,
    })
    const disabled = await createCode({ kind: 'discount', percent_off: 10 })
    const off = await f.h.request(`/api/v1/billing/admin/promo-codes/${disabled.id}/disable`, {
      method: 'POST',
      headers: f.h.auth(await f.h.adminToken()),
    })
    expect(off.status).toBe(200)
    f.h.clock.set(f.h.clock.now() + 61_000)
    for (const code of [expired.code, disabled.code, 'NO-SUCH-CODE-AT-ALL']) {
      const r = await redeem('u1', code)
      expect(r.status).toBe(404)
      expect(r.body.error.message).toBe('No such promo code, or it has expired')
    }
    expect(await f.h.db.selectFrom('promo_redemption').selectAll().execute()).toEqual([])
  })

  it('guessing is rate-limited per user (and the limit counts wrong guesses)', async () => {
    await f.start({ config: { billing: { promoAttemptsPerMinute: 3 } } })
    const { code } = await createCode({ kind: 'discount', percent_off: 10 })
    for (let i = 0; i < 3; i++)
      expect((await redeem('guesser', `WRONG-CODE-${i}`)).status).toBe(404)
    const blocked = await redeem('guesser', code)
    expect(blocked.status).toBe(429)
    expect(blocked.body.error.type).toBe('rate_limit_exceeded')
    // Another user is not held by the guesser's bucket.
    expect((await redeem('honest', code)).status).toBe(200)
    f.h.clock.set(f.h.clock.now() + 60_000)
    expect((await redeem('guesser', code)).status).toBe(200)
  })

  it("a percentage off reaches YooKassa's amount and the 54-FZ receipt; spent once paid", async () => {
    await f.start({ config: { yookassa: { receipt: { enabled: true, vatCode: 1 } } } })
    const { code } = await createCode({ kind: 'discount', percent_off: 15, plan_id: 'pro' })
    expect((await redeem('u1', code)).status).toBe(200)
    const checkout = await f.checkout('u1', { email: 'u1@example.com' })
    const [sent] = f.fake.requestsTo('POST', /^\/payments$/)
    // 990.00 less 15 % = 841.50
    expect(sent?.body?.amount).toEqual({ value: '841.50', currency: 'RUB' })
    expect(sent?.body?.receipt?.items).toEqual([
      expect.objectContaining({ amount: { value: '841.50', currency: 'RUB' }, quantity: 1 }),
    ])
    f.fake.pay(checkout.payment_id)
    expect((await f.deliver('payment.succeeded', checkout.payment_id)).status).toBe(200)
    expect((await findLiveSubscription(f.h.db, 'u1'))?.plan_id).toBe('pro')
    const [redemption] = await f.h.db.selectFrom('promo_redemption').selectAll().execute()
    expect(redemption).toMatchObject({ transaction_id: checkout.transaction_id })
    expect(redemption?.spent_at).not.toBeNull()
    // The next payment is at full price.
    await f.checkout('u1', { email: 'u1@example.com' })
    expect(f.fake.requestsTo('POST', /^\/payments$/)[1]?.body?.amount).toEqual({
      value: '990.00',
      currency: 'RUB',
    })
  })

  it('a declined discounted payment gives the discount back for the next checkout', async () => {
    await f.start()
    const { code } = await createCode({ kind: 'discount', percent_off: 50 })
    expect((await redeem('u1', code)).status).toBe(200)
    const first = await f.checkout('u1')
    f.fake.cancel(first.payment_id, 'insufficient_funds', 'payment_network')
    expect((await f.deliver('payment.canceled', first.payment_id)).status).toBe(200)
    await f.checkout('u1')
    const amounts = f.fake.requestsTo('POST', /^\/payments$/).map((r) => r.body?.amount?.value)
    expect(amounts).toEqual(['495.00', '495.00'])
  })

  it('one discount, two concurrent checkouts: exactly one is discounted', async () => {
    await f.start()
    const { code } = await createCode({ kind: 'discount', percent_off: 50 })
    expect((await redeem('u1', code)).status).toBe(200)
    await Promise.all([f.checkout('u1'), f.checkout('u1')])
    const amounts = f.fake.requestsTo('POST', /^\/payments$/).map((r) => r.body?.amount?.value)
    expect(amounts.sort()).toEqual(['495.00', '990.00'])
  })

  it('bad input is a 400 that stores nothing; only admins create codes', async () => {
    await f.start()
    const admin = await f.h.adminToken()
    for (const body of [
      { label: 'x', kind: 'discount' },
      { label: 'x', kind: 'discount', percent_off: 100 },
      { label: 'x', kind: 'plan_days', days: 3 },
      { label: 'x', kind: 'bogus' },
      { label: 'x', kind: 'discount', percent_off: 10, code: 'ab' },
    ]) {
      const res = await f.h.json('POST', '/api/v1/billing/admin/promo-codes', body, admin)
      expect(res.status, JSON.stringify(body)).toBe(400)
    }
    const notAdmin = await f.h.json(
      'POST',
      '/api/v1/billing/admin/promo-codes',
      { label: 'x', kind: 'discount', percent_off: 10 },
      await f.h.token({ sub: 'u1' }),
    )
    expect(notAdmin.status).toBe(403)
    expect(await f.h.db.selectFrom('promo_code').selectAll().execute()).toEqual([])
  })
})
