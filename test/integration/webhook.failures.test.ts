import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../db/client.ts'
import { createApp } from '../../src/app.ts'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { createDeps } from '../../src/boot.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture({ config: { yookassa: { requestTimeoutMs: 500 } } })

const status = async (id: string) =>
  (
    await f.h.db
      .selectFrom('billing_transaction')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  ).status

describe('transient failures answer 500 so YooKassa delivers again', () => {
  it.each([
    ['a 500', { status: 500 }],
    ['a timeout', { hang: true }],
    ['a reset connection', { reset: true }],
  ])(
    "YooKassa's GET failing with %s: 500, nothing changes; the redelivery applies it",
    async (_what, failure) => {
      const { transaction_id, payment_id } = await f.paidCheckout()
      f.fake.fail({ method: 'GET', path: /^\/payments\// }, failure)
      const note = f.fake.notification('payment.succeeded', payment_id)
      const failed = await f.fake.notify(f.base + WEBHOOK_PATH, note)
      expect(failed.status, failed.body).toBe(500)
      expect(await status(transaction_id)).toBe('pending')
      expect(await findLiveSubscription(f.h.db, 'u1')).toBeUndefined()

      const again = await f.fake.notify(f.base + WEBHOOK_PATH, note)
      expect(again.status, again.body).toBe(200)
      expect(await status(transaction_id)).toBe('succeeded')
      expect((await findLiveSubscription(f.h.db, 'u1'))?.plan_id).toBe('pro')
      const outcomes = await f.h.db
        .selectFrom('billing_webhook_event')
        .select('outcome')
        .orderBy('id')
        .execute()
      expect(outcomes.map((o) => o.outcome.split(':')[0])).toEqual(['failed', 'applied'])
      expect(f.h.logText()).toContain('webhook failed, answering 500')
      const basic = Buffer.from(`${f.fake.shopId}:${f.fake.secretKey}`).toString('base64')
      expect(f.h.logText()).not.toContain(f.fake.secretKey)
      expect(f.h.logText()).not.toContain(basic)
    },
  )

  it('a database that cannot be reached answers 500, and a healthy replica applies the redelivery', async () => {
    const { transaction_id, payment_id } = await f.paidCheckout()
    // A replica whose database is down: the same config, a PostgreSQL nobody listens on.
    const database = createDb('postgres://postgres@127.0.0.1:1/down', { poolSize: 1 })
    const deps = createDeps({ ...f.h.deps, database, logger: f.h.deps.logger })
    const server = serve({ fetch: createApp(deps).fetch, port: 0, hostname: '127.0.0.1' })
    await once(server, 'listening')
    try {
      const replicaBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const note = f.fake.notification('payment.succeeded', payment_id)
      const failed = await f.fake.notify(replicaBase + WEBHOOK_PATH, note)
      expect(failed.status, failed.body).toBe(500)
      expect(await status(transaction_id)).toBe('pending')
      const again = await f.fake.notify(f.base + WEBHOOK_PATH, note)
      expect(again.status, again.body).toBe(200)
      expect(await status(transaction_id)).toBe('succeeded')
    } finally {
      server.close()
      await database.close()
    }
  })

  it('the status change and the subscription change commit together: when the second fails, the first rolls back', async () => {
    const { transaction_id, payment_id } = await f.paidCheckout()
    // The subscription change cannot happen while the plan row is missing.
    const pro = await f.h.db
      .selectFrom('billing_plan')
      .selectAll()
      .where('id', '=', 'pro')
      .executeTakeFirstOrThrow()
    await f.h.db.deleteFrom('billing_plan').where('id', '=', 'pro').execute()
    const note = f.fake.notification('payment.succeeded', payment_id)
    const failed = await f.fake.notify(f.base + WEBHOOK_PATH, note)
    expect(failed.status, failed.body).toBe(500)
    expect(await status(transaction_id)).toBe('pending')
    await f.h.db.insertInto('billing_plan').values(pro).execute()
    const again = await f.fake.notify(f.base + WEBHOOK_PATH, note)
    expect(again.status, again.body).toBe(200)
    expect(await status(transaction_id)).toBe('succeeded')
    expect((await findLiveSubscription(f.h.db, 'u1'))?.plan_id).toBe('pro')
  })
})
