import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPaymentsFixture, type PaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'

/**
 * The audit catches each property it checks when that property is broken on
 * purpose: a clean state (real requests billed, a real payment credited)
 * passes; each break (a lost usage row, a second bill, a reservation left, a
 * counter off its rows, a payment credited twice or not at all) is reported.
 * Each break runs in a transaction that is rolled back, so they do not mix.
 */
describe(`reliability: the audit fails when a property is broken (${TEST_DIALECT})`, () => {
  let f: PaymentsFixture
  let paymentId: string
  const served = { requests: 3, tokens_input: 36, tokens_output: 21 }
  beforeAll(async () => {
    f = await createPaymentsFixture({ upstream: true })
    const token = await f.h.token({ sub: 'audited' })
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${f.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-3.5-turbo',
          messages: [{ role: 'user', content: 'x' }],
        }),
      })
      expect(response.status).toBe(200)
    }
    paymentId = (await f.creditedCheckout('buyer')).payment_id
  })
  afterAll(async () => f?.close())

  it('passes on the clean state', async () => {
    expect((await audit(f.h.db, { served, paidPayments: [paymentId] })).violations).toEqual([])
  })

  const breaks: Array<[string, RegExp, string]> = [
    ['a settle skipped (usage row lost)', /served > billed|!= sum of usage rows/, 'lose'],
    ['a request billed twice', /billed 2 times/, 'twice'],
    ['a reservation left behind', /reservations left/, 'reservation'],
    ['a counter off the sum of its rows', /!= sum of usage rows/, 'counter'],
    ['a payment credited twice', /credited 2 times/, 'credit-twice'],
    ['a paid payment not credited', /paid but not credited/, 'not-credited'],
  ]
  it.each(breaks)('reports %s', async (_what, expected, how) => {
    const { db } = f.h
    const rollback = new Error('rollback')
    const violations = await db
      .transaction()
      .execute(async (trx) => {
        const usage = await trx.selectFrom('billing_usage').selectAll().execute()
        const first = usage.find((u) => Number(u.requests) === 1)!
        if (how === 'lose') {
          await trx.deleteFrom('billing_usage').where('id', '=', first.id).execute()
        } else if (how === 'twice') {
          await trx
            .insertInto('billing_usage')
            .values({ ...first, id: `${first.id}-again` })
            .execute()
          await trx
            .updateTable('billing_quota_counter')
            .set({ requests_used: sql`requests_used + 1` })
            .where('subscription_id', '=', first.subscription_id!)
            .execute()
        } else if (how === 'reservation') {
          await trx
            .insertInto('billing_reservation')
            .values({
              request_id: 'left-behind',
              user_id: first.user_id,
              subscription_id: first.subscription_id!,
              period_start: 0,
              requests: 1,
              tokens_input: 1,
              tokens_output: 1,
              model_id: null,
              chat_id: null,
              created_at: 0,
              owner: null,
              sent_at: null,
            })
            .execute()
        } else if (how === 'counter') {
          await trx
            .updateTable('billing_quota_counter')
            .set({ tokens_input_used: sql`tokens_input_used + 5` })
            .execute()
        } else if (how === 'credit-twice') {
          const event = await trx
            .selectFrom('billing_webhook_event')
            .selectAll()
            .where('outcome', 'like', 'applied: credited%')
            .executeTakeFirstOrThrow()
          await trx
            .insertInto('billing_webhook_event')
            .values({ ...event, id: `${event.id}-2` })
            .execute()
        } else if (how === 'not-credited') {
          await trx
            .updateTable('billing_transaction')
            .set({ status: 'pending' })
            .where('provider_payment_id', '=', paymentId)
            .execute()
        }
        const report = await audit(trx, { served, paidPayments: [paymentId] })
        throw Object.assign(rollback, { violations: report.violations })
      })
      .catch((error: Error & { violations?: string[] }) => {
        if (error !== rollback) throw error
        return error.violations!
      })
    expect(violations.join('\n')).toMatch(expected)
  })
})
