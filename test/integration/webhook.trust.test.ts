import { request as httpRequest } from 'node:http'
import { describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { signWebhookBody } from '../../src/payments/webhook-secret.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixtureOnDemand } from '../helpers/payments-fixture.ts'

/** Each test starts its own fixture: the trust settings differ from test to test. */
const f = usePaymentsFixtureOnDemand()

async function state(transactionId: string, user = 'u1') {
  const row = await f.h.db
    .selectFrom('billing_transaction')
    .selectAll()
    .where('id', '=', transactionId)
    .executeTakeFirstOrThrow()
  const sub = await findLiveSubscription(f.h.db, user)
  return { status: row.status, plan: sub?.plan_id ?? null, row }
}

async function events() {
  return f.h.db.selectFrom('billing_webhook_event').selectAll().orderBy('id').execute()
}

describe('only the GET re-read counts', () => {
  it('a forged notification (body says succeeded, GET says pending) changes nothing', async () => {
    await f.start()
    const { transaction_id, payment_id } = await f.checkout()
    const forged = f.fake.notification('payment.succeeded', payment_id, {
      ...f.fake.payment(payment_id),
      status: 'succeeded',
      paid: true,
    })
    const res = await f.fake.notify(f.base + WEBHOOK_PATH, forged)
    expect(res.status, res.body).toBe(200)
    expect(await state(transaction_id)).toMatchObject({ status: 'pending', plan: null })
    expect(f.fake.requestsTo('GET', new RegExp(payment_id))).toHaveLength(1)
    const [event] = await events()
    expect(event).toMatchObject({
      event: 'payment.succeeded',
      object_id: payment_id,
      outcome: 'ignored: waiting',
    })
  })

  it('a notification for a payment YooKassa does not know is ignored with 200', async () => {
    await f.start()
    const res = await f.fake.notify(f.base + WEBHOOK_PATH, {
      type: 'notification',
      event: 'payment.succeeded',
      object: { id: '2f000000-000f-5000-8000-000000000000', status: 'succeeded' },
    })
    expect(res.status, res.body).toBe(200)
    expect((await events())[0]?.outcome).toBe('ignored: unknown payment')
  })

  it.each([
    ['amount', { amount: { value: '1.00', currency: 'RUB' } }],
    ['currency', { amount: { value: '990.00', currency: 'USD' } }],
    ['shop', { recipient: { account_id: '999', gateway_id: '1' } }],
    ['metadata', { metadata: { transaction_id: 'someone-else' } }],
    ['test flag', { test: true }],
  ])('a payment whose %s does not match is not credited', async (_what, patch) => {
    await f.start()
    const { transaction_id, payment_id } = await f.paidCheckout()
    f.fake.patch(payment_id, patch)
    const res = await f.deliver('payment.succeeded', payment_id)
    expect(res.status, res.body).toBe(200)
    const after = await state(transaction_id)
    expect(after.status, JSON.stringify(after.row)).toBe('canceled')
    expect(after.plan).toBeNull()
    expect(JSON.parse(after.row.metadata).rejected.length).toBeGreaterThan(0)
    expect((await events())[0]?.outcome).toMatch(/^rejected: /)
  })

  it('a test payment credits when the configuration allows test payments', async () => {
    await f.start({ config: { yookassa: { allowTestPayments: true } }, fake: { test: true } })
    const { transaction_id, payment_id } = await f.paidCheckout()
    const res = await f.deliver('payment.succeeded', payment_id)
    expect(res.status, res.body).toBe(200)
    expect(await state(transaction_id)).toMatchObject({ status: 'succeeded', plan: 'pro' })
  })

  it('a two-stage payment is captured when it matches and canceled when it does not', async () => {
    await f.start()
    const good = await f.checkout('u1')
    const bad = await f.checkout('u2')
    for (const id of [good.payment_id, bad.payment_id]) {
      f.fake.patch(id, { capture: false })
      f.fake.pay(id)
    }
    f.fake.patch(bad.payment_id, { amount: { value: '10.00', currency: 'RUB' } })
    for (const id of [good.payment_id, bad.payment_id]) {
      const res = await f.deliver('payment.waiting_for_capture', id)
      expect(res.status, res.body).toBe(200)
    }
    expect(f.fake.payment(good.payment_id).status).toBe('succeeded')
    expect(f.fake.payment(bad.payment_id).status).toBe('canceled')
    const captures = f.fake.requestsTo('POST', /\/capture$/)
    expect(captures.map((r) => r.idempotenceKey)).toEqual([`capture-${good.transaction_id}`])
    expect(await state(good.transaction_id, 'u1')).toMatchObject({
      status: 'succeeded',
      plan: 'pro',
    })
    expect(await state(bad.transaction_id, 'u2')).toMatchObject({ status: 'canceled', plan: null })
  })
})

describe('sender address', () => {
  it('403 from outside the trusted ranges, stored and logged, nothing read or changed', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27,2a02:5180::/32' } })
    const { transaction_id, payment_id } = await f.paidCheckout()
    const res = await f.deliver('payment.succeeded', payment_id)
    expect(res.status, res.body).toBe(403)
    expect(JSON.parse(res.body).error.code).toBe('forbidden_source')
    expect(await state(transaction_id)).toMatchObject({ status: 'pending', plan: null })
    expect(f.fake.requestsTo('GET', /payments/)).toHaveLength(0)
    expect((await events())[0]).toMatchObject({
      outcome: 'rejected: untrusted source',
      source_ip: '127.0.0.1',
    })
    expect(f.h.logText()).toMatch(/webhook rejected: sender outside YOOKASSA_TRUSTED_IPS/)
  })

  it('X-Forwarded-For counts only as TRUST_PROXY allows', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27', TRUST_PROXY: '1' } })
    const { payment_id } = await f.paidCheckout()
    const note = f.fake.notification('payment.succeeded', payment_id)
    // The sender wrote a YooKassa address itself; our one proxy appended the real one.
    const spoofed = await f.fake.notify(f.base + WEBHOOK_PATH, note, {
      'x-forwarded-for': '185.71.76.1, 203.0.113.7',
    })
    expect(spoofed.status, spoofed.body).toBe(403)
    const real = await f.fake.notify(f.base + WEBHOOK_PATH, note, {
      'x-forwarded-for': '185.71.76.1',
    })
    expect(real.status, real.body).toBe(200)
  })

  it('without TRUST_PROXY the header is ignored', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' } })
    const { payment_id } = await f.checkout()
    const res = await f.fake.notify(
      f.base + WEBHOOK_PATH,
      f.fake.notification('payment.succeeded', payment_id),
      {
        'x-forwarded-for': '185.71.76.1',
      },
    )
    expect(res.status, res.body).toBe(403)
  })
})

describe('webhook secret', () => {
  const secret = 'whsec-0123456789abcdef'

  it('401 when missing or wrong; ?secret= and an HMAC of the raw body pass', async () => {
    await f.start({ env: { YOOKASSA_WEBHOOK_SECRET: secret } })
    const { transaction_id, payment_id } = await f.paidCheckout()
    const note = JSON.stringify(f.fake.notification('payment.succeeded', payment_id))
    const missing = await f.fake.notify(f.base + WEBHOOK_PATH, note)
    expect(missing.status, missing.body).toBe(401)
    const wrong = await f.fake.notify(`${f.base}${WEBHOOK_PATH}?secret=nope`, note)
    expect(wrong.status, wrong.body).toBe(401)
    const badSig = await f.fake.notify(f.base + WEBHOOK_PATH, note, {
      'x-webhook-signature': signWebhookBody(secret, `${note} `),
    })
    expect(badSig.status, badSig.body).toBe(401)
    expect(await state(transaction_id)).toMatchObject({ status: 'pending', plan: null })
    expect(f.fake.requestsTo('GET', /payments/)).toHaveLength(0)

    const signed = await f.fake.notify(f.base + WEBHOOK_PATH, note, {
      'x-webhook-signature': signWebhookBody(secret, note),
    })
    expect(signed.status, signed.body).toBe(200)
    const query = await f.fake.notify(`${f.base}${WEBHOOK_PATH}?secret=${secret}`, note)
    expect(query.status, query.body).toBe(200)
    expect(await state(transaction_id)).toMatchObject({ status: 'succeeded', plan: 'pro' })
    const outcomes = (await events()).map((e) => e.outcome)
    expect(outcomes).toEqual([
      'rejected: missing secret',
      'rejected: wrong secret',
      'rejected: wrong secret',
      'applied: credited',
      'ignored: duplicate',
    ])
    expect(f.h.logText()).not.toContain(secret)
  })
})

describe('malformed and unknown notifications', () => {
  it('malformed JSON is 400, an unknown event 200, both stored', async () => {
    await f.start()
    const bad = await f.fake.notify(f.base + WEBHOOK_PATH, '{"type":')
    expect(bad.status, bad.body).toBe(400)
    const other = await f.fake.notify(f.base + WEBHOOK_PATH, {
      type: 'notification',
      event: 'deal.closed',
      object: { id: 'd1' },
    })
    expect(other.status, other.body).toBe(200)
    expect((await events()).map((e) => e.outcome)).toEqual([
      'rejected: malformed JSON',
      'ignored: unhandled event deal.closed',
    ])
  })
})

/** A POST from a given loopback address (127.0.0.x: each one its own socket peer). */
function postFrom(
  localAddress: string,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

describe('the sender is judged before its body is read', () => {
  it('an untrusted sender gets its 403 while its body is still arriving; nothing of it is kept', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' } })
    const { payment_id } = await f.paidCheckout()
    const started = performance.now()
    // A chunked body that never ends: answered only if the gateway does not wait for it.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${f.base}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => {
          req.destroy()
          resolve({ status: res.statusCode ?? 0, body: text })
        })
      })
      req.on('error', reject)
      req.write(JSON.stringify(f.fake.notification('payment.succeeded', payment_id)).slice(0, 40))
      setTimeout(() => reject(new Error('no answer while the body was unfinished')), 3_000)
    })
    expect(answer.status, answer.body).toBe(403)
    expect(JSON.parse(answer.body).error.code).toBe('forbidden_source')
    expect(performance.now() - started).toBeLessThan(2_000)
    const [event] = await events()
    expect(event).toMatchObject({
      event: 'unread',
      object_id: null,
      body: '',
      outcome: 'rejected: untrusted source',
    })
    expect(f.fake.requestsTo('GET', /payments/)).toHaveLength(0)
  })

  it('a trusted sender may send 64 KiB at most: past it 413, nothing read on, nothing applied', async () => {
    await f.start()
    const { transaction_id, payment_id } = await f.paidCheckout()
    const note = f.fake.notification('payment.succeeded', payment_id)
    const big = { ...note, padding: 'x'.repeat(64 * 1024) }
    const declared = await f.fake.notify(f.base + WEBHOOK_PATH, big)
    expect(declared.status, declared.body).toBe(413)
    expect(JSON.parse(declared.body).error.code).toBe('payload_too_large')
    // Chunked, so no content-length to refuse it by: the reading stops at the cap.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${f.base}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end(JSON.stringify(big))
    })
    expect(streamed).toBe(413)
    expect(await state(transaction_id)).toMatchObject({ status: 'pending', plan: null })
    expect(f.fake.requestsTo('GET', /payments/)).toHaveLength(0)
    for (const event of await events()) expect(event.body).toBe('')
  })
})

describe("a forwarded address spends only its own path's budget", () => {
  const unhandled = (id: string) => ({ type: 'notification', event: 'deal.closed', object: { id } })

  it("private hosts writing YooKassa's address cannot make YooKassa's notifications 429", async () => {
    await f.start({
      env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27', TRUST_PROXY: 'true' },
      config: { yookassa: { webhookRatePerMinute: 3 } },
    })
    const { transaction_id, payment_id } = await f.paidCheckout()
    const url = f.base + WEBHOOK_PATH
    const yookassa = { 'x-forwarded-for': '185.71.76.1' }
    // The proxy is 127.0.0.1. A private host behind it writes YooKassa's address itself (the proxy
    // appends the host's own), and another one skips the proxy and talks to the gateway directly.
    const viaProxy = { 'x-forwarded-for': '185.71.76.1, 10.0.0.5' }
    const refused: number[] = []
    for (let i = 0; i < 5; i++) {
      refused.push((await postFrom('127.0.0.1', url, unhandled(`p${i}`), viaProxy)).status)
      refused.push((await postFrom('127.0.0.2', url, unhandled(`d${i}`), yookassa)).status)
    }
    expect(refused.filter((s) => s === 429)).toHaveLength(4)

    const note = f.fake.notification('payment.succeeded', payment_id)
    const genuine = await postFrom('127.0.0.1', url, note, yookassa)
    expect(genuine.status, genuine.body).toBe(200)
    const again = await postFrom('127.0.0.1', url, note, yookassa)
    expect(again.status, again.body).toBe(200)
    expect(await state(transaction_id)).toMatchObject({ status: 'succeeded', plan: 'pro' })
    const outcomes = (await events()).filter((e) => e.object_id === payment_id)
    expect(outcomes.map((e) => e.outcome)).toEqual(['applied: credited', 'ignored: duplicate'])
  })
})
