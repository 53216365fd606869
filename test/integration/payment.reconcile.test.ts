import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { runReconcilePayments } from '../../src/jobs/reconcile-payments.ts'
import { type FakeYooKassa, startFakeYooKassa, yookassaEnv } from '../helpers/fake-yookassa.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'

let fake: FakeYooKassa
let h: Harness

beforeEach(async () => {
  fake = await startFakeYooKassa()
  h = await createHarness({ env: yookassaEnv(fake) })
})
afterEach(async () => {
  await h.close()
  await fake.close()
})

async function checkout(user = 'u1') {
  const res = await h.json(
    'POST',
    '/api/v1/billing/payment',
    { plan_id: 'pro', return_url: 'https://app.example/r' },
    await h.token({ sub: user }),
  )
  return {
    status: res.status,
    body: (await res.json()) as { transaction_id: string; payment_id: string },
  }
}

const rows = () => h.db.selectFrom('billing_transaction').selectAll().execute()
const minutes = (n: number) => n * 60_000

describe('reconciliation: a lost notification does not lose a payment', () => {
  it('applies a payment whose notification never came, once, and only after the grace delay', async () => {
    const { body } = await checkout()
    fake.pay(body.payment_id)
    expect(await runReconcilePayments(h.deps)).toMatchObject({ checked: 0 })
    h.clock.advance(minutes(6))
    expect(await runReconcilePayments(h.deps)).toMatchObject({ checked: 1, applied: 1 })
    expect((await rows())[0]?.status).toBe('succeeded')
    expect((await findLiveSubscription(h.db, 'u1'))?.plan_id).toBe('pro')
    expect(await runReconcilePayments(h.deps)).toMatchObject({ checked: 0, applied: 0 })
    expect(h.logText()).toContain('BILLING reconciliation pass')
  })

  it('replays a create whose answer was lost with the same key and body, then credits it', async () => {
    fake.fail(
      { method: 'POST', path: /^\/payments$/ },
      { status: 500, afterProcessing: true, count: 3 },
    )
    const lost = await checkout()
    expect(lost.status, JSON.stringify(lost.body)).toBe(503)
    const [row] = await rows()
    expect(row).toMatchObject({ status: 'pending', provider_payment_id: null })
    expect(fake.payments.size).toBe(1)
    const [paymentId] = [...fake.payments.keys()]
    fake.pay(paymentId!)

    h.clock.advance(minutes(6))
    expect(await runReconcilePayments(h.deps)).toMatchObject({ applied: 1, failed: 0 })
    const posts = fake.requestsTo('POST', /^\/payments$/)
    expect(new Set(posts.map((p) => p.idempotenceKey))).toEqual(new Set([row!.idempotence_key]))
    expect(new Set(posts.map((p) => JSON.stringify(p.body))).size).toBe(1)
    expect(fake.payments.size).toBe(1)
    expect((await rows())[0]).toMatchObject({ status: 'succeeded', provider_payment_id: paymentId })
  })

  it('records a cancellation YooKassa never notified, with its reason', async () => {
    const { body } = await checkout()
    fake.cancel(body.payment_id, 'expired_on_confirmation')
    h.clock.advance(minutes(6))
    await runReconcilePayments(h.deps)
    const [row] = await rows()
    expect(row?.status).toBe('canceled')
    expect(JSON.parse(row!.metadata).cancellation).toEqual({
      party: 'yoo_money',
      reason: 'expired_on_confirmation',
    })
  })

  it('expires a payment still pending after the expiry window', async () => {
    await checkout()
    h.clock.advance(minutes(60))
    await runReconcilePayments(h.deps)
    expect((await rows())[0]?.status).toBe('pending')
    h.clock.advance(minutes(24 * 60))
    expect(await runReconcilePayments(h.deps)).toMatchObject({ expired: 1 })
    expect((await rows())[0]?.status).toBe('canceled')
  })
})
