import { request as httpRequest } from 'node:http'
import { describe, expect, it } from 'vitest'
import * as scrubMigration from '../../db/migrations/0007_webhook_body_scrub.ts'
import { JOBS } from '../../src/scheduler.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixtureOnDemand } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixtureOnDemand()

const DAY_MS = 86_400_000

/** POSTs a body from a given loopback address (127.0.0.x: each one its own socket peer). */
function postFrom(localAddress: string, url: URL, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

async function events() {
  return f.h.db.selectFrom('billing_webhook_event').selectAll().orderBy('received_at').execute()
}

/** An event the gateway stores and ignores (200): a valid notification of an unhandled kind. */
const unhandled = (id: string, padding = '') => ({
  type: 'notification',
  event: 'deal.closed',
  object: { id, padding },
})

describe('stored webhook bodies are bounded', () => {
  it('nothing of a body rejected for its sender is read or kept', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' } })
    const big = 'x'.repeat(40_000)
    const rejected = await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d-rejected', big))
    expect(rejected.status, rejected.body).toBe(403)
    const [row] = await events()
    expect(row).toMatchObject({ outcome: 'rejected: untrusted source', event: 'unread', body: '' })
  })

  it('an accepted body keeps only the fields of the kept list', async () => {
    await f.start()
    const res = await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d1', 'y'.repeat(40_000)))
    expect(res.status, res.body).toBe(200)
    const [row] = await events()
    expect(JSON.parse(row!.body)).toEqual({
      type: 'notification',
      event: 'deal.closed',
      object: { id: 'd1' },
    })
  })
})

describe('card data is never stored or logged', () => {
  // The card's digits as JSON values (quoted) and in the title: bare, they also turn up inside
  // the random ids and timestamps of the same body ("...-a4444be788e0").
  const CARD = [
    '"555555"',
    '"4444"',
    '"2030"',
    '*4444',
    'first6',
    'last4',
    'expiry',
    'rrn',
    '603668680243',
    '+79001234567',
  ]

  /** What YooKassa sends for a card payment, with the payer's details it adds. */
  function withPayerDetails(payment: Record<string, unknown>) {
    return {
      ...payment,
      authorization_details: { rrn: '603668680243', auth_code: '000000' },
      payment_method: {
        ...(payment.payment_method as object),
        title: 'Bank card *4444',
        card: {
          first6: '555555',
          last4: '4444',
          expiry_month: '12',
          expiry_year: '2030',
          card_type: 'MasterCard',
          issuer_country: 'RU',
        },
        phone: '+79001234567',
      },
    }
  }

  it("a credited payment's stored notification keeps the ledger's fields and no card", async () => {
    await f.start()
    const { payment_id, transaction_id } = await f.paidCheckout()
    const state = withPayerDetails(f.fake.payment(payment_id) as Record<string, unknown>)
    const res = await f.deliver('payment.succeeded', payment_id, state)
    expect(res.status, res.body).toBe(200)
    const [row] = await events()
    expect(row?.outcome).toBe('applied: credited')
    for (const secret of CARD) {
      expect(row?.body, secret).not.toContain(secret)
      expect(f.h.logText(), secret).not.toContain(secret)
    }
    const stored = JSON.parse(row!.body)
    expect(stored).toMatchObject({
      type: 'notification',
      event: 'payment.succeeded',
      object: {
        id: payment_id,
        status: 'succeeded',
        paid: true,
        amount: { value: '990.00', currency: 'RUB' },
        metadata: { transaction_id },
        payment_method: { type: 'bank_card', saved: false },
      },
    })
  })

  it('a notification refused for its secret keeps no card either', async () => {
    await f.start({ env: { YOOKASSA_WEBHOOK_SECRET: 'whsec-0123456789abcdef' } })
    const { payment_id } = await f.paidCheckout()
    const state = withPayerDetails(f.fake.payment(payment_id) as Record<string, unknown>)
    const res = await f.deliver('payment.succeeded', payment_id, state)
    expect(res.status, res.body).toBe(401)
    const [row] = await events()
    expect(row?.outcome).toBe('rejected: missing secret')
    for (const secret of CARD) expect(row?.body, secret).not.toContain(secret)
    expect(JSON.parse(row!.body).object.id).toBe(payment_id)
  })

  it('the scrub migration rewrites the bodies stored before, and leaves the rest', async () => {
    await f.start()
    const { payment_id } = await f.paidCheckout()
    const note = f.fake.notification(
      'payment.succeeded',
      payment_id,
      withPayerDetails(f.fake.payment(payment_id) as Record<string, unknown>),
    )
    const row = (id: string, body: string) => ({
      id,
      event: 'payment.succeeded',
      object_id: payment_id,
      source_ip: '185.71.76.1',
      body,
      outcome: 'applied: credited',
      received_at: 1,
    })
    await f.h.db
      .insertInto('billing_webhook_event')
      .values([
        row('00000000-0000-7000-8000-000000000001', JSON.stringify(note)),
        // Cut at 1 KiB or 16 KiB before: not JSON any more, nothing of it can be told safe.
        row('00000000-0000-7000-8000-000000000002', JSON.stringify(note).slice(0, 300)),
        row('00000000-0000-7000-8000-000000000003', '{"type":"notification","event":"x"}'),
      ])
      .execute()
    await scrubMigration.up(f.h.db)
    const after = await f.h.db
      .selectFrom('billing_webhook_event')
      .selectAll()
      .orderBy('id')
      .execute()
    for (const event of after) for (const secret of CARD) expect(event.body).not.toContain(secret)
    expect(JSON.parse(after[0]!.body).object).toMatchObject({ id: payment_id, paid: true })
    expect(after[1]!.body).toBe('')
    expect(after[2]!.body).toBe('{"type":"notification","event":"x"}')
  })
})

describe('rejected notifications are stored within one bound for all senders', () => {
  it('20 addresses over their own rates store at most webhookRejectedStoredPerHour; the rest are counted', async () => {
    await f.start({
      env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' },
      config: { yookassa: { webhookRatePerMinute: 10 } },
    })
    const url = new URL(f.base + WEBHOOK_PATH)
    const statuses: number[] = []
    await Promise.all(
      Array.from({ length: 20 }, async (_, a) => {
        for (let i = 0; i < 10; i++) {
          statuses.push(await postFrom(`127.0.0.${a + 2}`, url, unhandled(`x${a}-${i}`)))
        }
      }),
    )
    expect(statuses.filter((s) => s === 403)).toHaveLength(200)
    expect(await events()).toHaveLength(60)
    const metrics = await f.h.deps.metrics.registry.metrics()
    expect(metrics).toMatch(/gateway_webhook_events_total\{event="other",outcome="rejected"\} 60/)
    expect(metrics).toMatch(
      /gateway_webhook_events_total\{event="other",outcome="rejected_unstored"\} 140/,
    )

    // One more stored a minute (60 an hour).
    f.h.clock.advance(60_000)
    expect(await postFrom('127.0.0.30', url, unhandled('later'))).toBe(403)
    expect(await postFrom('127.0.0.31', url, unhandled('later-2'))).toBe(403)
    expect(await events()).toHaveLength(61)
  })
})

describe('retention', () => {
  it('the prune-webhook-events job deletes events older than webhookEventRetentionDays', async () => {
    await f.start({ config: { yookassa: { webhookEventRetentionDays: 30 } } })
    const job = JOBS.find((j) => j.name === 'prune-webhook-events')
    expect(job, 'the job is scheduled with the others').toBeDefined()
    await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('old-1'))
    await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('old-2'))
    f.h.clock.advance(20 * DAY_MS)
    await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('recent'))
    f.h.clock.advance(10 * DAY_MS + 1_000)

    await job!.run(f.h.deps)
    expect((await events()).map((e) => e.object_id)).toEqual(['recent'])
    // Running again changes nothing until the next one ages out.
    await job!.run(f.h.deps)
    expect(await events()).toHaveLength(1)
    f.h.clock.advance(20 * DAY_MS)
    await job!.run(f.h.deps)
    expect(await events()).toEqual([])
  })

  it('keeps 90 days by default', async () => {
    await f.start()
    await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d1'))
    f.h.clock.advance(89 * DAY_MS)
    const job = JOBS.find((j) => j.name === 'prune-webhook-events')!
    await job.run(f.h.deps)
    expect(await events()).toHaveLength(1)
    f.h.clock.advance(DAY_MS + 1_000)
    await job.run(f.h.deps)
    expect(await events()).toHaveLength(0)
  })
})

describe('per-address rate bound', () => {
  it('past webhookRatePerMinute an address gets 429 and nothing is stored; it refills', async () => {
    await f.start({ config: { yookassa: { webhookRatePerMinute: 3 } } })
    const statuses: number[] = []
    let last = { status: 0, body: '' }
    for (let i = 0; i < 6; i++) {
      last = await f.fake.notify(f.base + WEBHOOK_PATH, unhandled(`d${i}`))
      statuses.push(last.status)
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429])
    expect(JSON.parse(last.body).error).toMatchObject({
      type: 'rate_limit_exceeded',
      code: 'rate_limit_exceeded',
    })
    expect((await events()).map((e) => e.object_id)).toEqual(['d0', 'd1', 'd2'])

    // 3 a minute: one more every 20 seconds.
    f.h.clock.advance(20_000)
    expect((await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d6'))).status).toBe(200)
    expect((await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d7'))).status).toBe(429)
    expect(await events()).toHaveLength(4)
  })

  it('untrusted senders count too, so a flood from outside stores at most the rate', async () => {
    await f.start({
      env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' },
      config: { yookassa: { webhookRatePerMinute: 2 } },
    })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      statuses.push((await f.fake.notify(f.base + WEBHOOK_PATH, unhandled(`x${i}`))).status)
    }
    expect(statuses).toEqual([403, 403, 429, 429, 429])
    expect(await events()).toHaveLength(2)
  })
})
