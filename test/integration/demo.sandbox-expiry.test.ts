import { afterEach, describe, expect, it } from 'vitest'
import { startYooKassaSandbox } from '../../src/demo/yookassa/sandbox.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts'

/** The demo's YooKassa expires a checkout left unpaid, as YooKassa does, and notifies it. */
let close: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const done of close) await done()
  close = []
})

const shop = { shopId: '100500', secretKey: 'demo_secret' }
const auth = `Basic ${Buffer.from(`${shop.shopId}:${shop.secretKey}`).toString('base64')}`

async function createPayment(apiUrl: string) {
  const res = await fetch(`${apiUrl}/payments`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json', 'idempotence-key': 'k1' },
    body: JSON.stringify({
      amount: { value: '990.00', currency: 'RUB' },
      capture: true,
      confirmation: { type: 'redirect', return_url: 'http://127.0.0.1:9/billing/return' },
      description: 'Pro',
    }),
  })
  const body = (await res.json()) as { id: string; status: string }
  expect(res.status, JSON.stringify(body)).toBe(200)
  return body
}

describe('demo YooKassa sandbox', () => {
  it('cancels a checkout left pending past its time (expired_on_confirmation) and notifies the gateway', async () => {
    const receiver: WebhookReceiver = await startWebhookReceiver()
    const sandbox = await startYooKassaSandbox({
      ...shop,
      port: 0,
      logger: createLogger('silent'),
      expirePendingAfterMs: 60_000,
    })
    close = [() => sandbox.close(), () => receiver.close()]
    sandbox.setWebhookUrl(receiver.url)
    const payment = await createPayment(sandbox.apiUrl)
    expect(payment.status).toBe('pending')

    expect(await sandbox.expireAbandoned(Date.now() + 59_000)).toBe(0)
    expect(await sandbox.expireAbandoned(Date.now() + 61_000)).toBe(1)
    const read = await fetch(`${sandbox.apiUrl}/payments/${payment.id}`, {
      headers: { authorization: auth },
    })
    expect(await read.json()).toMatchObject({
      status: 'canceled',
      cancellation_details: { reason: 'expired_on_confirmation' },
    })
    expect(receiver.received.map((r) => JSON.parse(r.body).event)).toEqual(['payment.canceled'])
    // Once: a canceled payment is not expired again.
    expect(await sandbox.expireAbandoned(Date.now() + 3_600_000)).toBe(0)
  })
})
