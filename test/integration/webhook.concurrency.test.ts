import { beforeEach, describe, expect, it } from 'vitest'
import { addInterval } from '../../src/billing/periods.ts'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Exactly-once crediting across replicas: two app instances share one
 * database (a SQLite file with two handles, or one PostgreSQL schema with two
 * pools) and YooKassa's deliveries of the same success race between them.
 */
const f = usePaymentsFixture()
let bases: string[]

beforeEach(async () => {
  const replica = await f.replica()
  bases = [f.base, await replica.listen()]
})

describe(`concurrent deliveries on ${TEST_DIALECT} with two instances`, () => {
  it('ten concurrent deliveries of the same success credit once: one row succeeded, the period extended once', async () => {
    const start = nowSeconds(f.h.clock)
    const first = await f.paidCheckout('u1')
    const once = await f.fake.notify(
      bases[0] + WEBHOOK_PATH,
      f.fake.notification('payment.succeeded', first.payment_id),
    )
    expect(once.status, once.body).toBe(200)
    expect((await findLiveSubscription(f.h.db, 'u1'))?.paid_until).toBe(
      addInterval(start, 'month', 1),
    )

    const second = await f.paidCheckout('u1')
    const note = f.fake.notification('payment.succeeded', second.payment_id)
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => f.fake.notify(bases[i % 2] + WEBHOOK_PATH, note)),
    )
    expect(
      answers.map((r) => r.status),
      JSON.stringify(answers),
    ).toEqual(Array(10).fill(200))

    const rows = await f.h.db.selectFrom('billing_transaction').selectAll().orderBy('id').execute()
    expect(
      rows.map((r) => r.status),
      JSON.stringify(rows),
    ).toEqual(['succeeded', 'succeeded'])
    const sub = await findLiveSubscription(f.h.db, 'u1')
    expect(sub?.plan_id).toBe('pro')
    expect(sub?.paid_until, JSON.stringify(sub)).toBe(addInterval(start, 'month', 2))
    const outcomes = await f.h.db
      .selectFrom('billing_webhook_event')
      .select('outcome')
      .where('object_id', '=', second.payment_id)
      .execute()
    const credited = outcomes.filter((o) => o.outcome === 'applied: credited')
    expect(credited, JSON.stringify(outcomes)).toHaveLength(1)
    expect(outcomes.filter((o) => o.outcome === 'ignored: duplicate')).toHaveLength(9)
    const subs = await f.h.db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('user_id', '=', 'u1')
      .execute()
    expect(
      subs.filter((s) => s.status === 'active'),
      JSON.stringify(subs),
    ).toHaveLength(1)
  })

  it('stale and out-of-order deliveries are 200 no-ops that never move a status back', async () => {
    const paid = await f.paidCheckout('u2')
    const [pendingState] = f.fake.history(paid.payment_id)
    const stale = f.fake.notification('payment.waiting_for_capture', paid.payment_id, pendingState)
    expect((await f.fake.notify(bases[1] + WEBHOOK_PATH, stale)).status).toBe(200)
    const ok = await f.fake.notify(
      bases[0] + WEBHOOK_PATH,
      f.fake.notification('payment.succeeded', paid.payment_id),
    )
    expect(ok.status).toBe(200)
    const paidUntil = (await findLiveSubscription(f.h.db, 'u2'))?.paid_until
    for (const event of ['payment.canceled', 'payment.waiting_for_capture', 'payment.succeeded']) {
      const res = await f.fake.notify(
        bases[1] + WEBHOOK_PATH,
        f.fake.notification(event, paid.payment_id, pendingState),
      )
      expect(res.status, res.body).toBe(200)
    }
    const row = await f.h.db.selectFrom('billing_transaction').selectAll().executeTakeFirstOrThrow()
    expect(row.status).toBe('succeeded')
    expect((await findLiveSubscription(f.h.db, 'u2'))?.paid_until).toBe(paidUntil)
  })
})
