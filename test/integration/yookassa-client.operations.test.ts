import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createYooKassaHttpClient, type YooKassaClient } from '../../src/yookassa/client.ts'
import type { YooKassaError } from '../../src/yookassa/errors.ts'
import { type FakeYooKassa, startFakeYooKassa } from '../helpers/fake-yookassa.ts'

let fake: FakeYooKassa
let client: YooKassaClient

beforeEach(async () => {
  fake = await startFakeYooKassa()
  client = createYooKassaHttpClient({
    apiUrl: fake.url,
    shopId: fake.shopId,
    secretKey: fake.secretKey,
    timeoutMs: 2_000,
    sleep: async () => {},
  })
})
afterEach(async () => {
  await client.close()
  await fake.close()
})

const rub = (kopecks: number) => ({ kopecks, currency: 'RUB' })

describe('YooKassa client: the endpoints the gateway uses', () => {
  it('sends amounts as two-decimal strings with Basic auth and reads them back as kopecks', async () => {
    const payment = await client.createPayment(
      {
        amount: rub(99_050),
        capture: true,
        description: 'Plan pro',
        metadata: { transaction_id: 't1' },
        confirmation: { type: 'redirect', return_url: 'https://app.example/r' },
        receipt: {
          customer: { email: 'u@example.com' },
          items: [
            {
              description: 'Plan pro',
              quantity: 1,
              amount: rub(99_050),
              vat_code: 1,
              payment_subject: 'service',
              payment_mode: 'full_payment',
            },
          ],
        },
      },
      'create-1',
    )
    const [sent] = fake.requestsTo('POST', /^\/payments$/)
    expect(sent?.body?.amount, JSON.stringify(sent)).toEqual({ value: '990.50', currency: 'RUB' })
    expect(sent?.body?.receipt.items[0].amount).toEqual({ value: '990.50', currency: 'RUB' })
    expect(payment.amount).toEqual(rub(99_050))
    expect(payment.confirmation?.confirmation_url).toMatch(/^https:\/\//)
    expect(payment.recipient?.account_id).toBe(fake.shopId)
  })

  it('captures and cancels two-stage payments, each POST with its own key', async () => {
    const base = { capture: false, description: 'd', metadata: {} }
    const a = await client.createPayment({ ...base, amount: rub(100) }, 'a')
    const b = await client.createPayment({ ...base, amount: rub(200) }, 'b')
    fake.pay(a.id)
    fake.pay(b.id)
    const captured = await client.capturePayment(a.id, rub(100), 'cap-a')
    const canceled = await client.cancelPayment(b.id, 'cancel-b')
    expect(captured.status).toBe('succeeded')
    expect(canceled.status).toBe('canceled')
    expect(canceled.cancellation_details?.reason).toBe('canceled_by_merchant')
    const keys = fake.requests.filter((r) => r.method === 'POST').map((r) => r.idempotenceKey)
    expect(keys).toEqual(['a', 'b', 'cap-a', 'cancel-b'])
  })

  it('creates and reads refunds; a refund over the amount is a final 400', async () => {
    const p = await client.createPayment(
      { amount: rub(99_000), capture: true, description: 'd', metadata: {} },
      'p',
    )
    fake.pay(p.id)
    const refund = await client.createRefund({ payment_id: p.id, amount: rub(40_000) }, 'r1')
    expect(refund.status).toBe('succeeded')
    expect((await client.getRefund(refund.id)).amount).toEqual(rub(40_000))
    expect((await client.getPayment(p.id)).refunded_amount).toEqual(rub(40_000))
    const error = (await client
      .createRefund({ payment_id: p.id, amount: rub(60_000) }, 'r2')
      .catch((e) => e)) as YooKassaError
    expect(error.status).toBe(400)
    expect(error.transient).toBe(false)
  })

  it('reads the shop with GET /me and reports 404 as not found', async () => {
    expect(await client.me()).toMatchObject({ account_id: fake.shopId, test: false })
    const error = (await client.getPayment('nope').catch((e) => e)) as YooKassaError
    expect(error.notFound).toBe(true)
    expect(fake.requestsTo('GET', /nope/)).toHaveLength(1)
  })

  it('refuses a POST without a valid Idempotence-Key before sending anything', async () => {
    await expect(client.cancelPayment('x', '')).rejects.toThrow(/Idempotence-Key/)
    await expect(client.cancelPayment('x', 'bad key!')).rejects.toThrow(/Idempotence-Key/)
    expect(fake.requests).toHaveLength(0)
  })
})
