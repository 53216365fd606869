import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { deliverOutbox } from '../../src/notify/deliver.job.ts'
import { createHarness } from '../helpers/harness.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts'

/**
 * Soft limits (docs/quotas.md): a user is told at 80 % and 100 % of a quota by the
 * x-quota-warning header and by one signed webhook per threshold per period, delivered from the
 * outbox with retries. The 429 that follows says when the quota resets and where to pay.
 */
const SECRET = 'whsec-test-0123456789abcdef'
const PUBLIC_URL = 'https://gateway.example.com'
let f: ProxyFixture | undefined
let receiver: WebhookReceiver | undefined
afterEach(async () => {
  await f?.close()
  await receiver?.close()
  f = undefined
  receiver = undefined
})

async function start(limitRequests = 5) {
  receiver = await startWebhookReceiver()
  f = await startProxyFixture({
    plan: { quotas: { requests: limitRequests, tokens_input: null, tokens_output: null } },
    harness: {
      env: {
        NOTIFY_WEBHOOK_URL: receiver.url,
        NOTIFY_WEBHOOK_SECRET: SECRET,
        PUBLIC_URL,
      },
    },
  })
  return { f, receiver }
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }

async function outbox(fixture: ProxyFixture) {
  return fixture.h.db.selectFrom('outbox_event').selectAll().orderBy('created_at').execute()
}

describe('soft limits', () => {
  it('warns at 80 % and 100 % by header, records one webhook per threshold, and the 429 names the reset and the billing page', async () => {
    const { f } = await start(5)
    const warnings: Array<string | null> = []
    for (let i = 0; i < 5; i++) {
      const res = await f.fetch('sam', '/v1/chat/completions', { method: 'POST', json: chat })
      expect(res.status, await res.text()).toBe(200)
      warnings.push(res.headers.get('x-quota-warning'))
    }
    // 4 of 5 is 80 %, 5 of 5 is 100 %.
    expect(warnings).toEqual([null, null, null, 'requests=80', 'requests=100'])

    const refused = await f.fetch('sam', '/v1/chat/completions', { method: 'POST', json: chat })
    const text = await refused.text()
    expect(refused.status, text).toBe(429)
    const periodEnd = (
      await f.h.db
        .selectFrom('billing_subscription')
        .select('current_period_end')
        .where('user_id', '=', 'sam')
        .executeTakeFirstOrThrow()
    ).current_period_end
    expect(refused.headers.get('x-quota-reset')).toBe(String(periodEnd))
    const message = JSON.parse(text).error.message as string
    expect(message, text).toContain(new Date(Number(periodEnd) * 1000).toISOString().slice(0, 19))
    expect(message, text).toContain(`${PUBLIC_URL}/billing`)

    // A further refusal and a restart of the process change nothing: once per threshold.
    await f.fetch('sam', '/v1/chat/completions', { method: 'POST', json: chat })
    f.h.deps.softLimitsSeen.clear()
    await f.fetch('sam', '/v1/chat/completions', { method: 'POST', json: chat })
    const rows = await outbox(f)
    expect(
      rows.map((r) => [r.type, r.audience, JSON.parse(r.body).data.percent]),
      JSON.stringify(rows),
    ).toEqual([
      ['quota.threshold', 'user', 80],
      ['quota.threshold', 'user', 100],
    ])
  })

  it('delivers each event signed with HMAC-SHA256, retries a failed delivery with backoff, and a new process delivers what the old one recorded', async () => {
    const { f, receiver } = await start(5)
    for (let i = 0; i < 4; i++) {
      await f.fetch('ana', '/v1/chat/completions', { method: 'POST', json: chat })
    }
    expect((await outbox(f)).length).toBe(1)

    // The process that recorded it is gone; another, on the same database, drains the outbox.
    const other = await createHarness({
      shareDatabaseWith: f.h,
      env: { NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: SECRET },
    })
    try {
      receiver.answer([503])
      expect(await deliverOutbox(other.deps)).toEqual({ delivered: 0, retried: 1, failed: 0 })
      let [row] = await outbox(f)
      expect(row, JSON.stringify(row)).toMatchObject({ attempts: 1, last_status: 503 })
      expect(row?.delivered_at).toBeNull()

      // Not due yet: the backoff (30 s first) holds it.
      f.h.clock.advance(29_000)
      expect(await deliverOutbox(other.deps)).toEqual({ delivered: 0, retried: 0, failed: 0 })
      f.h.clock.advance(1_000)
      expect(await deliverOutbox(other.deps)).toEqual({ delivered: 1, retried: 0, failed: 0 })
      ;[row] = await outbox(f)
      expect(row, JSON.stringify(row)).toMatchObject({ attempts: 2, last_status: 200 })
      expect(row?.delivered_at).not.toBeNull()

      // Delivered: never sent again.
      f.h.clock.advance(3_600_000)
      expect(await deliverOutbox(other.deps)).toEqual({ delivered: 0, retried: 0, failed: 0 })
    } finally {
      await other.close()
    }

    expect(receiver.received.length).toBe(2)
    for (const delivery of receiver.received) {
      const signature = String(delivery.headers['x-gateway-signature'])
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)
      expect(match, signature).not.toBeNull()
      const expected = createHmac('sha256', SECRET)
        .update(`${match![1]}.${delivery.body}`)
        .digest('hex')
      expect(match![2]).toBe(expected)
      expect(delivery.headers['content-type']).toBe('application/json')
    }
    const body = JSON.parse(receiver.received[1]!.body)
    expect(body, JSON.stringify(body)).toMatchObject({
      type: 'quota.threshold',
      audience: 'user',
      data: {
        user_id: 'ana',
        metric: 'requests',
        percent: 80,
        limit: 5,
        plan_id: 'test',
        billing_url: `${PUBLIC_URL}/billing`,
      },
    })
    expect(receiver.received[1]!.headers['x-gateway-event-id']).toBe(body.id)
    // The same event both times: a receiver dedupes retries by id.
    expect(JSON.parse(receiver.received[0]!.body).id).toBe(body.id)
  })

  it('gives up after notifications.maxAttempts and keeps the row as failed', async () => {
    receiver = await startWebhookReceiver()
    f = await startProxyFixture({
      plan: { quotas: { requests: 1, tokens_input: null, tokens_output: null } },
      config: { notifications: { maxAttempts: 2, backoffBaseSeconds: 10 } },
      harness: { env: { NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: SECRET } },
    })
    await f.fetch('bo', '/v1/chat/completions', { method: 'POST', json: chat })
    receiver.answer([500, 500, 500])
    expect(await deliverOutbox(f.h.deps)).toEqual({ delivered: 0, retried: 1, failed: 0 })
    f.h.clock.advance(10_000)
    expect(await deliverOutbox(f.h.deps)).toEqual({ delivered: 0, retried: 0, failed: 1 })
    f.h.clock.advance(86_400_000)
    expect(await deliverOutbox(f.h.deps)).toEqual({ delivered: 0, retried: 0, failed: 0 })
    const [row] = await outbox(f)
    expect(row, JSON.stringify(row)).toMatchObject({ attempts: 2, last_status: 500 })
    expect(row?.failed_at).not.toBeNull()
  })

  it('records nothing and sends no warning header below the first threshold, and nothing at all without a webhook URL', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 2, tokens_input: null, tokens_output: null } },
    })
    const first = await f.fetch('cy', '/v1/chat/completions', { method: 'POST', json: chat })
    expect(first.headers.get('x-quota-warning')).toBeNull()
    const second = await f.fetch('cy', '/v1/chat/completions', { method: 'POST', json: chat })
    expect(second.headers.get('x-quota-warning')).toBe('requests=100')
    const refused = await f.fetch('cy', '/v1/chat/completions', { method: 'POST', json: chat })
    const text = await refused.text()
    expect(refused.status, text).toBe(429)
    expect(text).not.toContain('/billing')
    expect(refused.headers.get('x-quota-reset')).toMatch(/^\d+$/)
    expect(await outbox(f)).toEqual([])
  })
})
