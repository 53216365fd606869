import { afterEach, describe, expect, it } from 'vitest'
import { runReconcilePayments } from '../../src/payments/reconcile.job.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { createPaymentsFixture, type PaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'

/**
 * YooKassa's API is down while its notifications arrive: GET /payments/{id}
 * answers 500 for half the payments and never answers for the other half
 * (the gateway's 500 ms timeout). Every notification gets 500, so YooKassa
 * delivers it again; after recovery the redeliveries arrive twice each and
 * concurrently, and one payment's notifications are all lost: reconciliation
 * must find it. Each payment is credited exactly once.
 */
const PAYMENTS = 10

describe(`reliability: YooKassa down during notifications (${TEST_DIALECT})`, () => {
  let f: PaymentsFixture | undefined
  afterEach(async () => {
    await f?.close()
    f = undefined
  })

  it('answers 500 while YooKassa is down, credits each payment once after redelivery, reconciliation finds the lost one', async () => {
    f = await createPaymentsFixture({ config: { yookassa: { requestTimeoutMs: 500 } } })
    const fx = f
    const paid = []
    for (let i = 0; i < PAYMENTS; i++) paid.push(await fx.paidCheckout(`payer${i}`))
    const notify = (paymentId: string) =>
      fx.fake.notify(fx.base + WEBHOOK_PATH, fx.fake.notification('payment.succeeded', paymentId))

    // Down: 500 for the first half of the GETs, a hang for the rest.
    fx.fake.fail({ method: 'GET', path: /^\/payments\// }, { status: 500, count: PAYMENTS / 2 })
    fx.fake.fail({ method: 'GET', path: /^\/payments\// }, { hang: true, count: 1_000 })
    const during = []
    for (const { payment_id } of paid) during.push(await notify(payment_id))
    expect(during.map((n) => n.status)).toEqual(Array(PAYMENTS).fill(500))
    const credited = await fx.h.db
      .selectFrom('billing_transaction')
      .select('id')
      .where('status', '=', 'succeeded')
      .execute()
    expect(credited).toHaveLength(0)

    // Recovery: YooKassa redelivers, twice and at once; the last payment's notifications stay lost.
    fx.fake.clearFailures()
    const redelivered = paid.slice(0, -1)
    // YooKassa's retry: a notification answered 500 is delivered again (bounded here at 5 tries).
    const deliver = async (paymentId: string) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await notify(paymentId)
        if (answer.status === 200 || attempt === 5) return { ...answer, attempt }
      }
    }
    const again = await Promise.all(
      redelivered.flatMap(({ payment_id }) => [deliver(payment_id), deliver(payment_id)]),
    )
    const failures = fx.h.logs.filter(
      (l) => l.msg === 'webhook failed, answering 500 so YooKassa delivers it again',
    )
    expect(
      again.map((n) => n.status),
      JSON.stringify(failures.slice(-3)),
    ).toEqual(Array(again.length).fill(200))
    const retried = again.filter((n) => n.attempt > 1).length
    const lost = paid.at(-1)!
    const before = await fx.h.db
      .selectFrom('billing_transaction')
      .select('status')
      .where('provider_payment_id', '=', lost.payment_id)
      .executeTakeFirstOrThrow()
    expect(before.status).toBe('pending')
    fx.h.clock.advance(6 * 60_000)
    const reconciled = await runReconcilePayments(fx.h.deps)
    expect(reconciled).toMatchObject({ applied: 1, failed: 0 })

    const report = await audit(fx.h.db, { paidPayments: paid.map((p) => p.payment_id) })
    expect(report.violations).toEqual([])
    const subscriptions = await fx.h.db
      .selectFrom('billing_subscription')
      .select(['user_id', 'plan_id', 'paid_until', 'current_period_start'])
      .where('plan_id', '=', 'pro')
      .execute()
    expect(subscriptions).toHaveLength(PAYMENTS)
    // One period bought each: no payment extended a subscription twice.
    const lengths = new Set(
      subscriptions.map((s) => Number(s.paid_until) - Number(s.current_period_start)),
    )
    expect(lengths.size, JSON.stringify(subscriptions)).toBe(1)
    process.stdout.write(
      `[reliability yookassa-down ${TEST_DIALECT}] ${PAYMENTS} payments: ${PAYMENTS} notifications answered 500 while down, ${again.length} concurrent redeliveries 200 (${retried} after a retry), 1 found by reconciliation; audit ok\n`,
    )
  }, 120_000)
})
