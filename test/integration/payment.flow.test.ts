import { describe, expect, it } from 'vitest'
import { addInterval } from '../../src/billing/periods.ts'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { yookassaEnv } from '../helpers/fake-yookassa.ts'
import { createHarness } from '../helpers/harness.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture({ upstream: true })

async function chat(token: string, model: string) {
  return fetch(`${f.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  })
}

describe("the seed's flow: pay for pro, get pro", () => {
  it('creates the payment, the fake pays and notifies, the user is on pro for one month and its quotas apply', async () => {
    const token = await f.h.token({ sub: 'u1', email: 'u1@example.com' })
    const before = await chat(token, 'gpt-4o')
    expect(before.status, await before.clone().text()).toBe(403)

    const res = await f.h.json(
      'POST',
      '/api/v1/billing/payment',
      { plan_id: 'pro', return_url: 'https://app.example/billing/success' },
      token,
    )
    const body = (await res.json()) as Record<string, string>
    expect(res.status, JSON.stringify(body)).toBe(201)
    expect(body).toMatchObject({
      status: 'pending',
      amount: '990.00',
      currency: 'RUB',
      plan_id: 'pro',
    })
    expect(body.confirmation_url).toMatch(/^https:\/\//)

    // What reached YooKassa: one-stage, redirect, <= 128 chars, our ids, the stored key.
    const [sent] = f.fake.requestsTo('POST', /^\/payments$/)
    const row = await f.h.db
      .selectFrom('billing_transaction')
      .selectAll()
      .where('id', '=', body.transaction_id!)
      .executeTakeFirstOrThrow()
    expect(sent?.idempotenceKey, JSON.stringify(sent)).toBe(row.idempotence_key)
    expect(sent?.body).toMatchObject({
      amount: { value: '990.00', currency: 'RUB' },
      capture: true,
      confirmation: { type: 'redirect', return_url: 'https://app.example/billing/success' },
      metadata: { transaction_id: row.id, user_id: 'u1', plan_id: 'pro' },
    })
    expect(sent?.body?.description.length).toBeLessThanOrEqual(128)
    expect(sent?.body?.save_payment_method).toBeUndefined()
    expect(sent?.body?.receipt).toBeUndefined()
    expect(row).toMatchObject({
      status: 'pending',
      provider_payment_id: body.payment_id,
      amount: 99_000,
    })

    f.fake.pay(body.payment_id!)
    const paidAt = nowSeconds(f.h.clock)
    const delivery = await f.deliver('payment.succeeded', body.payment_id!)
    expect(delivery.status, delivery.body).toBe(200)

    const sub = await findLiveSubscription(f.h.db, 'u1')
    expect(sub, JSON.stringify(sub)).toMatchObject({ plan_id: 'pro', status: 'active' })
    expect(sub!.paid_until).toBe(addInterval(paidAt, 'month', 1))
    const shown = await f.h.request('/api/v1/billing/subscription', { headers: f.h.auth(token) })
    const subscription = (await shown.json()) as Record<string, unknown>
    expect(subscription, JSON.stringify(subscription)).toMatchObject({
      plan_id: 'pro',
      status: 'active',
      current_period_start: paidAt,
      current_period_end: addInterval(paidAt, 'month', 1),
      paid_until: addInterval(paidAt, 'month', 1),
    })
    const after = await chat(token, 'gpt-4o')
    expect(after.status, await after.clone().text()).toBe(200)
    // Pro allows 10 000 requests a month: this was the first.
    expect(after.headers.get('x-quota-remaining-requests')).toBe('9999')

    const list = await f.h.request('/api/v1/billing/transactions', { headers: f.h.auth(token) })
    const listed = (await list.json()) as { data: Array<Record<string, unknown>> }
    expect(listed.data, JSON.stringify(listed)).toHaveLength(1)
    expect(listed.data[0]).toMatchObject({ status: 'succeeded', amount: '990.00', kind: 'payment' })
    expect(f.h.logText()).toMatch(/webhook payment\.succeeded applied: credited/)
    expect(f.h.logText()).toMatch(/BILLING payment succeeded/)
  })
})

describe('checkout refusals', () => {
  const pay = async (body: unknown, token?: string) => {
    const res = await f.h.json(
      'POST',
      '/api/v1/billing/payment',
      body,
      token ?? (await f.h.token({ sub: 'u2' })),
    )
    return {
      status: res.status,
      body: (await res.json()) as { error: { code: string; param: string } },
    }
  }

  it('free plan 400, unknown plan 404, foreign return_url 400, and nothing reaches YooKassa', async () => {
    const free = await pay({ plan_id: 'free', return_url: 'https://app.example/r' })
    expect(free.status, JSON.stringify(free)).toBe(400)
    const unknown = await pay({ plan_id: 'gold', return_url: 'https://app.example/r' })
    expect(unknown.status, JSON.stringify(unknown)).toBe(404)
    for (const url of [
      'https://evil.example/r',
      'javascript:alert(1)//app.example',
      'https://app.example@evil.example/',
    ]) {
      const open = await pay({ plan_id: 'pro', return_url: url })
      expect(open.status, `${url} ${JSON.stringify(open)}`).toBe(400)
      expect(open.body.error.param).toBe('return_url')
    }
    expect(f.fake.requests).toHaveLength(0)
    expect(await f.h.db.selectFrom('billing_transaction').selectAll().execute()).toHaveLength(0)
  })

  it('needs a token', async () => {
    const res = await f.h.json('POST', '/api/v1/billing/payment', {
      plan_id: 'pro',
      return_url: 'https://app.example/r',
    })
    expect(res.status).toBe(401)
  })

  it('503 billing_not_configured without shop id and secret key', async () => {
    const bare = await createHarness({ env: { BILLING_RETURN_HOSTS: 'app.example' } })
    try {
      const res = await bare.json(
        'POST',
        '/api/v1/billing/payment',
        { plan_id: 'pro', return_url: 'https://app.example/r' },
        await bare.token({ sub: 'u3' }),
      )
      const body = await res.text()
      expect(res.status, body).toBe(503)
      expect(body).toContain('billing_not_configured')
    } finally {
      await bare.close()
    }
  })
})

describe('checkout with auto-renewal and 54-FZ receipts enabled', () => {
  it('asks YooKassa to save the card and sends one receipt item equal to the amount', async () => {
    const configured = await createHarness({
      env: yookassaEnv(f.fake),
      config: { yookassa: { autoRenew: true, receipt: { enabled: true, vatCode: 11 } } },
    })
    try {
      const token = await configured.token({ sub: 'u4', email: 'buyer@example.com' })
      const res = await configured.json(
        'POST',
        '/api/v1/billing/payment',
        { plan_id: 'pro', return_url: 'https://app.example/r' },
        token,
      )
      expect(res.status, await res.clone().text()).toBe(201)
      const [sent] = f.fake.requestsTo('POST', /^\/payments$/)
      expect(sent?.body?.save_payment_method).toBe(true)
      expect(sent?.body?.receipt).toEqual({
        customer: { email: 'buyer@example.com' },
        items: [
          {
            description: 'Pro',
            quantity: 1,
            amount: { value: '990.00', currency: 'RUB' },
            vat_code: 11,
            payment_subject: 'service',
            payment_mode: 'full_payment',
          },
        ],
      })
      const noEmail = await configured.json(
        'POST',
        '/api/v1/billing/payment',
        { plan_id: 'pro', return_url: 'https://app.example/r' },
        await configured.token({ sub: 'u5' }),
      )
      expect(noEmail.status, await noEmail.clone().text()).toBe(400)
    } finally {
      await configured.close()
    }
  })
})
