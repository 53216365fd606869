import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEBHOOK_PATH } from '../helpers/fake-yookassa.ts'
import { createPaymentsFixture, type PaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/*
 * The YooKassa webhook under arbitrary bodies from a trusted address, over a
 * real socket: never a 500 (500 is reserved for the transient case, YooKassa
 * or the database down, which this fuzz does not inject), and nothing changes
 * but the audit row: the body only names an object, which is read back by GET.
 * Bodies include well-formed notifications naming a real, unpaid payment with
 * a forged "succeeded" state: still nothing changes.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60)
const EVENTS = [
  'payment.succeeded',
  'payment.waiting_for_capture',
  'payment.canceled',
  'refund.succeeded',
  'x',
]

describe(`fuzz: YooKassa webhook (${TEST_DIALECT})`, () => {
  let f: PaymentsFixture
  let paymentId: string
  beforeAll(async () => {
    f = await createPaymentsFixture()
    paymentId = (await f.checkout('u1')).payment_id
  })
  afterAll(async () => f?.close())

  const snapshot = async () => ({
    transactions: await f.h.db.selectFrom('billing_transaction').selectAll().execute(),
    subscriptions: await f.h.db.selectFrom('billing_subscription').selectAll().execute(),
  })

  it('never answers 500 to any body and changes nothing but the audit row', async () => {
    const anyJson = fc.jsonValue({ maxDepth: 4 })
    const objectId = fc.oneof(fc.constant(paymentId), fc.string({ maxLength: 70 }), anyJson)
    const notification = fc.record(
      {
        type: fc.oneof(fc.constant('notification'), anyJson),
        event: fc.oneof(fc.constantFrom(...EVENTS), anyJson),
        object: fc.oneof(
          fc.record(
            {
              id: objectId,
              status: fc.constantFrom('succeeded', 'waiting_for_capture', 'canceled'),
              paid: fc.boolean(),
              amount: anyJson,
              metadata: anyJson,
            },
            { requiredKeys: [] },
          ),
          anyJson,
        ),
      },
      { requiredKeys: [] },
    )
    const body = fc.oneof(
      notification.map((n) => JSON.stringify(n)),
      anyJson.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 80 }),
      fc.constant(`${'['.repeat(50_000)}${']'.repeat(50_000)}`),
    )
    const before = await snapshot()
    let events = (await f.h.db.selectFrom('billing_webhook_event').select('id').execute()).length
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const answer = await f.fake.notify(f.base + WEBHOOK_PATH, text)
        expect(answer.status, `${text.slice(0, 300)} -> ${answer.body}`).not.toBe(500)
        expect(answer.status).toBeLessThan(500)
        const rows = await f.h.db.selectFrom('billing_webhook_event').select('id').execute()
        expect(rows.length).toBe(events + 1)
        events = rows.length
      }),
      { numRuns: RUNS },
    )
    expect(await snapshot()).toEqual(before)
  }, 60_000)
})
