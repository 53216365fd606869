import { describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { runReconcilePayments } from '../../src/payments/reconcile.job.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture()

const rows = () => f.h.db.selectFrom('billing_transaction').selectAll().execute()
const minutes = (n: number) => n * 60_000

describe('reconciliation: a lost notification does not lose a payment', () => {
  it('applies a payment whose notification never came, once, and only after the grace delay', async () => {
    const { body } = await f.startCheckout()
    f.fake.pay(body.payment_id)
    expect(await runReconcilePayments(f.h.deps)).toMatchObject({ checked: 0 })
    f.h.clock.advance(minutes(6))
    expect(await runReconcilePayments(f.h.deps)).toMatchObject({ checked: 1, applied: 1 })
    expect((await rows())[0]?.status).toBe('succeeded')
    expect((await findLiveSubscription(f.h.db, 'u1'))?.plan_id).toBe('pro')
    expect(await runReconcilePayments(f.h.deps)).toMatchObject({ checked: 0, applied: 0 })
    expect(f.h.logText()).toContain('BILLING reconciliation pass')
  })

  it('replays a create whose answer was lost with the same key and body, then credits it', async () => {
    f.fake.fail(
      { method: 'POST', path: /^\/payments$/ },
      { status: 500, afterProcessing: true, count: 3 },
    )
    const lost = await f.startCheckout()
    expect(lost.status, JSON.stringify(lost.body)).toBe(503)
    const [row] = await rows()
    expect(row).toMatchObject({ status: 'pending', provider_payment_id: null })
    expect(f.fake.payments.size).toBe(1)
    const [paymentId] = [...f.fake.payments.keys()]
    f.fake.pay(paymentId!)

    f.h.clock.advance(minutes(6))
    expect(await runReconcilePayments(f.h.deps)).toMatchObject({ applied: 1, failed: 0 })
    const posts = f.fake.requestsTo('POST', /^\/payments$/)
    expect(new Set(posts.map((p) => p.idempotenceKey))).toEqual(new Set([row!.idempotence_key]))
    expect(new Set(posts.map((p) => JSON.stringify(p.body))).size).toBe(1)
    expect(f.fake.payments.size).toBe(1)
    expect((await rows())[0]).toMatchObject({ status: 'succeeded', provider_payment_id: paymentId })
  })

  it('records a cancellation YooKassa never notified, with its reason', async () => {
    const { body } = await f.startCheckout()
    f.fake.cancel(body.payment_id, 'expired_on_confirmation')
    f.h.clock.advance(minutes(6))
    await runReconcilePayments(f.h.deps)
    const [row] = await rows()
    expect(row?.status).toBe('canceled')
    expect(JSON.parse(row!.metadata).cancellation).toEqual({
      party: 'yoo_money',
      reason: 'expired_on_confirmation',
    })
  })

  it('expires a payment still pending after the expiry window', async () => {
    await f.startCheckout()
    f.h.clock.advance(minutes(60))
    await runReconcilePayments(f.h.deps)
    expect((await rows())[0]?.status).toBe('pending')
    f.h.clock.advance(minutes(24 * 60))
    expect(await runReconcilePayments(f.h.deps)).toMatchObject({ expired: 1 })
    expect((await rows())[0]?.status).toBe('canceled')
  })
})
