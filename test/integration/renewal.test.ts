import { describe, expect, it } from 'vitest'
import { addInterval } from '../../src/billing/periods.ts'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { runRenewSubscriptions } from '../../src/payments/renewals.job.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture({ config: { yookassa: { autoRenew: true } } })
const HOUR = 3_600_000

/** The user pays for pro once with a card YooKassa saves; returns when paid time ends. */
async function subscribeWithSavedCard(user = 'u1') {
  const start = nowSeconds(f.h.clock)
  await f.creditedCheckout(user, { email: `${user}@example.com` })
  const sub = (await findLiveSubscription(f.h.db, user))!
  expect(sub).toMatchObject({
    plan_id: 'pro',
    auto_renew: 1,
    paid_until: addInterval(start, 'month', 1),
  })
  expect(sub.payment_method_id).toBeTruthy()
  return sub
}

const chargesWith = (methodId: string) =>
  f.fake.requestsTo('POST', /^\/payments$/).filter((r) => r.body?.payment_method_id === methodId)

/** Moves the test clock to `ms` before the given epoch second. */
const moveTo = (epochSeconds: number, beforeMs: number) =>
  f.h.clock.set(epochSeconds * 1000 - beforeMs)

describe('renewal with the saved card', () => {
  it('charges once per period, shortly before it ends, with a key derived from subscription and period', async () => {
    const sub = await subscribeWithSavedCard()
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ due: 0 })
    moveTo(sub.paid_until!, 23 * HOUR)
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ due: 1, charged: 1 })
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ due: 0 })

    const [charge] = chargesWith(sub.payment_method_id!)
    expect(charge?.idempotenceKey).toBe(`renew-${sub.id}-${sub.paid_until}`)
    expect(charge?.body).toMatchObject({
      capture: true,
      amount: { value: '990.00', currency: 'RUB' },
    })
    expect(charge?.body?.confirmation).toBeUndefined()
    const renewed = (await findLiveSubscription(f.h.db, 'u1'))!
    expect(renewed).toMatchObject({ id: sub.id, status: 'active' })
    expect(renewed.paid_until).toBe(addInterval(sub.paid_until!, 'month', 1))
    const kinds = await f.h.db
      .selectFrom('billing_transaction')
      .select(['kind', 'status'])
      .orderBy('id')
      .execute()
    expect(kinds).toEqual([
      { kind: 'payment', status: 'succeeded' },
      { kind: 'renewal', status: 'succeeded' },
    ])
  })

  it('two replicas running the job at once charge the period once', async () => {
    const sub = await subscribeWithSavedCard()
    const replica = await f.replica()
    moveTo(sub.paid_until!, HOUR)
    await Promise.all([
      runRenewSubscriptions(f.h.deps),
      runRenewSubscriptions(replica.deps),
      runRenewSubscriptions(f.h.deps),
      runRenewSubscriptions(replica.deps),
    ])
    const payments = new Set(
      [...f.fake.payments.values()]
        .filter(
          (p) => p.payment_method?.id === sub.payment_method_id && p.metadata?.kind === 'renewal',
        )
        .map((p) => p.id),
    )
    expect(payments.size, JSON.stringify(f.fake.requests)).toBe(1)
    const renewals = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('kind', '=', 'renewal')
      .execute()
    expect(renewals.map((r) => r.status)).toEqual(['succeeded'])
    expect((await findLiveSubscription(f.h.db, 'u1'))?.paid_until).toBe(
      addInterval(sub.paid_until!, 'month', 1),
    )
  })

  it('a failed charge makes the subscription past_due for the grace period, then the user returns to the default plan', async () => {
    const sub = await subscribeWithSavedCard()
    f.fake.setChargeOutcome(sub.payment_method_id!, { reason: 'insufficient_funds' })
    moveTo(sub.paid_until!, 23 * HOUR)
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ due: 1, failed: 1 })
    const grace = f.h.deps.config.yookassa.graceSeconds
    expect(await findLiveSubscription(f.h.db, 'u1')).toMatchObject({
      status: 'past_due',
      grace_until: sub.paid_until! + grace,
      plan_id: 'pro',
    })
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ due: 0 })
    expect(chargesWith(sub.payment_method_id!)).toHaveLength(1)

    moveTo(sub.paid_until! + grace, HOUR)
    expect((await f.h.deps.entitlements.get('u1'))?.plan.id).toBe('pro')
    moveTo(sub.paid_until! + grace, -HOUR)
    f.h.deps.entitlements.invalidate('u1')
    const after = await f.h.deps.entitlements.get('u1')
    expect(after?.plan.id, JSON.stringify(after?.subscription)).toBe('free')
    expect(f.h.logText()).toContain('BILLING renewal charge failed, subscription past_due')
  })

  it('a revoked permission stops auto-renewal and forgets the saved method', async () => {
    const sub = await subscribeWithSavedCard()
    f.fake.setChargeOutcome(sub.payment_method_id!, { reason: 'permission_revoked' })
    moveTo(sub.paid_until!, HOUR)
    await runRenewSubscriptions(f.h.deps)
    expect(await findLiveSubscription(f.h.db, 'u1')).toMatchObject({
      status: 'past_due',
      auto_renew: 0,
      payment_method_id: null,
    })
  })

  it('no log line holds the secret key, a card number or the payment method token', async () => {
    const sub = await subscribeWithSavedCard()
    moveTo(sub.paid_until!, HOUR)
    await runRenewSubscriptions(f.h.deps)
    const logs = f.h.logText()
    expect(logs).toContain('BILLING renewal charged')
    const basic = Buffer.from(`${f.fake.shopId}:${f.fake.secretKey}`).toString('base64')
    for (const secret of [f.fake.secretKey, basic, sub.payment_method_id!, '555555', '*4444']) {
      expect(logs.includes(secret), `log holds ${secret}`).toBe(false)
    }
  })
})
