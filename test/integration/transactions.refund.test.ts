import { describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { runReconcilePayments } from '../../src/payments/reconcile.job.ts'
import { createYooKassaHttpClient } from '../../src/yookassa/client.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture()

async function refund(transactionId: string, body: unknown = {}, token?: string) {
  const res = await f.h.json(
    'POST',
    `/api/v1/billing/admin/transactions/${transactionId}/refund`,
    body,
    token ?? (await f.h.adminToken()),
  )
  return { status: res.status, body: (await res.json()) as Record<string, Record<string, string>> }
}

const plan = async (user = 'u1') => (await findLiveSubscription(f.h.db, user))?.plan_id

describe('admin refunds', () => {
  it('a full refund reaches YooKassa with an Idempotence-Key and returns the user to the default plan', async () => {
    const paid = await f.creditedCheckout()
    const res = await refund(paid.transaction_id)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.refund).toMatchObject({ kind: 'refund', status: 'succeeded', amount: '990.00' })
    expect(res.body.payment).toMatchObject({ status: 'refunded', refunded_amount: '990.00' })
    const [sent] = f.fake.requestsTo('POST', /^\/refunds$/)
    const row = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('id', '=', res.body.refund!.id!)
      .executeTakeFirstOrThrow()
    expect(sent?.idempotenceKey, JSON.stringify(sent)).toBe(row.idempotence_key)
    expect(sent?.idempotenceKey).toMatch(/^[0-9a-zA-Z+\-_.]{1,64}$/)
    expect(sent?.body).toMatchObject({
      payment_id: paid.payment_id,
      amount: { value: '990.00', currency: 'RUB' },
    })
    expect(await plan()).toBe('free')

    // YooKassa's refund.succeeded arrives afterwards: already applied, nothing changes.
    const note = await f.deliver('refund.succeeded', row.provider_payment_id!)
    expect(note.status, note.body).toBe(200)
    const outcome = await f.h.db
      .selectFrom('billing_webhook_event')
      .select('outcome')
      .where('event', '=', 'refund.succeeded')
      .executeTakeFirst()
    expect(outcome?.outcome).toBe('ignored: duplicate')
    expect(await plan()).toBe('free')
  })

  it('a partial refund keeps the paid period; refunding the rest revokes it; more is 400', async () => {
    const paid = await f.creditedCheckout()
    const part = await refund(paid.transaction_id, { amount: '400.00' })
    expect(part.status, JSON.stringify(part.body)).toBe(201)
    expect(part.body.payment).toMatchObject({ status: 'refunded', refunded_amount: '400.00' })
    expect(await plan()).toBe('pro')
    const rest = await refund(paid.transaction_id)
    expect(rest.body.refund).toMatchObject({ amount: '590.00', status: 'succeeded' })
    expect(await plan()).toBe('free')
    const more = await refund(paid.transaction_id, { amount: '1.00' })
    expect(more.status, JSON.stringify(more.body)).toBe(400)
    expect(f.fake.requestsTo('POST', /^\/refunds$/)).toHaveLength(2)
  })

  it('is for admins only, and only for paid transactions', async () => {
    const paid = await f.creditedCheckout()
    expect((await refund(paid.transaction_id, {}, await f.h.token({ sub: 'u1' }))).status).toBe(403)
    expect((await refund('no-such-id')).status).toBe(404)
    const { body: pending } = await f.startCheckout('u9')
    expect((await refund(pending.transaction_id)).status).toBe(409)
    expect(f.fake.requestsTo('POST', /^\/refunds$/)).toHaveLength(0)
  })

  it('a pending refund blocks a second one and is polled to its end (there is no refund.canceled event)', async () => {
    const paid = await f.creditedCheckout()
    f.fake.setRefundOutcome('pending')
    const first = await refund(paid.transaction_id, { amount: '100.00' })
    expect(first.body.refund).toMatchObject({ status: 'pending' })
    expect((await refund(paid.transaction_id, { amount: '100.00' })).status).toBe(409)
    const refundRow = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('id', '=', first.body.refund!.id!)
      .executeTakeFirstOrThrow()
    f.fake.completeRefund(refundRow.provider_payment_id!, 'canceled')
    f.h.clock.advance(10 * 60_000)
    await runReconcilePayments(f.h.deps)
    const canceled = await f.h.db
      .selectFrom('billing_transaction')
      .select('status')
      .where('id', '=', refundRow.id)
      .executeTakeFirstOrThrow()
    expect(canceled.status).toBe('canceled')

    const second = await refund(paid.transaction_id, { amount: '100.00' })
    f.fake.completeRefund(second.body.refund!.provider_payment_id!, 'succeeded')
    f.h.clock.advance(10 * 60_000)
    await runReconcilePayments(f.h.deps)
    const payment = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('id', '=', paid.transaction_id)
      .executeTakeFirstOrThrow()
    expect(payment).toMatchObject({ status: 'refunded', refunded_amount: 10_000 })
  })

  it('a refund made in YooKassa itself is recorded from its notification, once', async () => {
    const paid = await f.creditedCheckout()
    const direct = createYooKassaHttpClient({
      apiUrl: f.fake.url,
      shopId: f.fake.shopId,
      secretKey: f.fake.secretKey,
      timeoutMs: 2000,
    })
    const made = await direct.createRefund(
      { payment_id: paid.payment_id, amount: { kopecks: 99_000, currency: 'RUB' } },
      'cabinet-1',
    )
    await direct.close()
    const note = f.fake.notification('refund.succeeded', made.id)
    for (const _ of [1, 2]) {
      expect((await f.fake.notify(f.base + WEBHOOK_PATH, note)).status).toBe(200)
    }
    const refunds = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('kind', '=', 'refund')
      .execute()
    expect(refunds).toHaveLength(1)
    expect(refunds[0]).toMatchObject({
      status: 'succeeded',
      provider_payment_id: made.id,
      parent_id: paid.transaction_id,
    })
    expect(await plan()).toBe('free')
  })
})

describe('GET /transactions', () => {
  it("lists the caller's own, newest first, with cursor pagination; admins may name a user", async () => {
    const token = await f.h.token({ sub: 'u1' })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await f.startCheckout('u1')).body.transaction_id)
    await f.startCheckout('u2')

    const page1 = (await (
      await f.h.request('/api/v1/billing/transactions?limit=2', { headers: f.h.auth(token) })
    ).json()) as {
      data: Array<{ id: string; user_id: string }>
      next_cursor: string | null
    }
    expect(
      page1.data.map((t) => t.id),
      JSON.stringify(page1),
    ).toEqual([ids[2], ids[1]])
    const page2 = (await (
      await f.h.request(`/api/v1/billing/transactions?limit=2&cursor=${page1.next_cursor}`, {
        headers: f.h.auth(token),
      })
    ).json()) as typeof page1
    expect(page2.data.map((t) => t.id)).toEqual([ids[0]])
    expect(page2.next_cursor).toBeNull()

    const other = await f.h.request('/api/v1/billing/transactions?user_id=u2', {
      headers: f.h.auth(token),
    })
    expect(other.status).toBe(403)
    const admin = await f.h.request('/api/v1/billing/transactions?user_id=u2', {
      headers: f.h.auth(await f.h.adminToken()),
    })
    const adminBody = (await admin.json()) as typeof page1
    expect(
      adminBody.data.map((t) => t.user_id),
      JSON.stringify(adminBody),
    ).toEqual(['u2'])
    expect((await f.h.request('/api/v1/billing/transactions')).status).toBe(401)
  })
})
