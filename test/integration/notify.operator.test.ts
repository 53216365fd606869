import { afterAll, describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { deliverOutbox } from '../../src/notify/deliver.job.ts'
import { notifyOperator } from '../../src/notify/notify.ts'
import { runRenewSubscriptions } from '../../src/payments/renewals.job.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts'

/**
 * The operator's webhooks (docs/quotas.md, "Soft limits" and operator alerts): a failed renewal
 * and a refund each record one event in the transaction that makes the change.
 */
const receiver = await startWebhookReceiver()
afterAll(() => receiver.close())
const f = usePaymentsFixture({
  config: { yookassa: { autoRenew: true } },
  env: { NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: 'whsec-operator-0123456789' },
})

const operatorEvents = async () =>
  (
    await f.h.db
      .selectFrom('outbox_event')
      .selectAll()
      .where('audience', '=', 'operator')
      .orderBy('created_at')
      .execute()
  ).map((row) => JSON.parse(row.body) as { type: string; data: Record<string, unknown> })

describe('operator webhooks', () => {
  it('a refund records one refund.succeeded event, even when YooKassa notifies it again', async () => {
    const paid = await f.creditedCheckout()
    const res = await f.h.json(
      'POST',
      `/api/v1/billing/admin/transactions/${paid.transaction_id}/refund`,
      { amount: '400.00' },
      await f.h.adminToken(),
    )
    const body = (await res.json()) as { refund: { id: string } }
    expect(res.status, JSON.stringify(body)).toBe(201)
    const row = await f.h.db
      .selectFrom('billing_transaction')
      .select('provider_payment_id')
      .where('id', '=', body.refund.id)
      .executeTakeFirstOrThrow()
    await f.deliver('refund.succeeded', row.provider_payment_id!)
    const events = await operatorEvents()
    expect(events, JSON.stringify(events)).toMatchObject([
      {
        type: 'refund.succeeded',
        data: { user_id: 'u1', amount: 40000, currency: 'RUB', full: false, plan_revoked: false },
      },
    ])
    receiver.received.length = 0
    expect(await deliverOutbox(f.h.deps)).toMatchObject({ delivered: 1 })
    expect(JSON.parse(receiver.received[0]!.body).type).toBe('refund.succeeded')
  })

  it('a failed renewal records renewal.failed with the reason', async () => {
    const start = nowSeconds(f.h.clock)
    await f.creditedCheckout('u1', { email: 'u1@example.com' })
    const sub = (await findLiveSubscription(f.h.db, 'u1'))!
    expect(sub.paid_until).toBeGreaterThan(start)
    f.fake.setChargeOutcome(sub.payment_method_id!, { reason: 'insufficient_funds' })
    f.h.clock.set(sub.paid_until! * 1000 - 3_600_000)
    expect(await runRenewSubscriptions(f.h.deps)).toMatchObject({ failed: 1 })
    expect(await operatorEvents()).toMatchObject([
      {
        type: 'renewal.failed',
        data: { user_id: 'u1', subscription_id: sub.id, reason: 'insufficient_funds' },
      },
    ])
  })

  it('notifyOperator (for the upstream failover) records once per dedupe key', async () => {
    const event = { type: 'upstream.failed', data: { upstream: 'default' }, dedupeKey: 'up:1' }
    expect(await notifyOperator(f.h.deps, event)).toBe(true)
    expect(await notifyOperator(f.h.deps, event)).toBe(false)
    expect((await operatorEvents()).map((e) => e.type)).toEqual(['upstream.failed'])
  })
})
