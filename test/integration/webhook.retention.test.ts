import { describe, expect, it } from 'vitest'
import { JOBS } from '../../src/scheduler.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixtureOnDemand } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixtureOnDemand()

const DAY_MS = 86_400_000

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
  it('a body rejected for its sender keeps its first KiB', async () => {
    await f.start({ env: { YOOKASSA_TRUSTED_IPS: '185.71.76.0/27' } })
    const big = 'x'.repeat(40_000)
    const rejected = await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d-rejected', big))
    expect(rejected.status, rejected.body).toBe(403)
    const [row] = await events()
    expect(row?.outcome).toBe('rejected: untrusted source')
    expect(row?.body.length).toBe(1024)
    expect(row?.body.startsWith('{"type":"notification","event":"deal.closed"')).toBe(true)
  })

  it('an accepted body is cut at 16 KiB', async () => {
    await f.start()
    const res = await f.fake.notify(f.base + WEBHOOK_PATH, unhandled('d1', 'y'.repeat(40_000)))
    expect(res.status, res.body).toBe(200)
    const [row] = await events()
    expect(row?.body.length).toBe(16_384)
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
