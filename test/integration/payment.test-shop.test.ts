import { describe, expect, it } from 'vitest'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import { loadConfig } from '../../src/config/load.ts'
import { checkYooKassaShop } from '../../src/payments/self-check.ts'
import { usePaymentsFixtureOnDemand } from '../helpers/payments-fixture.ts'

/**
 * Test payments (`test: true`) from the environment alone: a test shop's are
 * credited, a live shop refuses them, YOOKASSA_ALLOW_TEST_PAYMENTS overrides,
 * and the start-up log says which mode is on. The config file is the shipped
 * gateway.config.ts, untouched: every setting here is an environment variable.
 */
/** Each test opens its fixture (closed after it); the last test opens none. */
const f = usePaymentsFixtureOnDemand()

/** Checkout, paid at the fake, payment.succeeded delivered: the transaction's status and the user's plan. */
async function payAndNotify(patch?: Record<string, unknown>) {
  const { transaction_id, payment_id } = await f.paidCheckout()
  if (patch) f.fake.patch(payment_id, patch)
  expect(f.fake.payment(payment_id).test).toBe(true)
  const res = await f.deliver('payment.succeeded', payment_id)
  expect(res.status, res.body).toBe(200)
  const row = await f.h.db
    .selectFrom('billing_transaction')
    .selectAll()
    .where('id', '=', transaction_id)
    .executeTakeFirstOrThrow()
  const sub = await findLiveSubscription(f.h.db, 'u1')
  return { status: row.status, plan: sub?.plan_id ?? null, row: JSON.stringify(row) }
}

async function startupLine() {
  await checkYooKassaShop(f.h.deps)
  return f.h.logs.find((line) => line.testPayments !== undefined)
}

describe('test shop, configured by environment variables only', () => {
  it('credits its test payments, and the start-up log says so', async () => {
    await f.start({ fake: { test: true } })
    expect(f.h.deps.config.yookassa.allowTestPayments).toBeUndefined()
    const after = await payAndNotify()
    expect(after, after.row).toMatchObject({ status: 'succeeded', plan: 'pro' })
    expect(await startupLine()).toMatchObject({
      msg: 'BILLING YooKassa test shop: test payments accepted',
      testPayments: 'accepted',
    })
  })

  it('refuses them when YOOKASSA_ALLOW_TEST_PAYMENTS=false', async () => {
    await f.start({ fake: { test: true }, env: { YOOKASSA_ALLOW_TEST_PAYMENTS: 'false' } })
    const after = await payAndNotify()
    expect(after, after.row).toMatchObject({ status: 'canceled', plan: null })
    expect((await startupLine())?.testPayments).toBe('refused')
  })
})

describe('live shop', () => {
  it('refuses a test: true payment by default, and the start-up log says so', async () => {
    await f.start({ fake: { test: false } })
    const after = await payAndNotify({ test: true })
    expect(after, after.row).toMatchObject({ status: 'canceled', plan: null })
    expect(after.row).toContain('test payment while test payments are not allowed')
    expect(await startupLine()).toMatchObject({
      msg: 'BILLING YooKassa live shop: test payments refused',
      testPayments: 'refused',
    })
  })

  it('credits it when YOOKASSA_ALLOW_TEST_PAYMENTS=true overrides (and warns)', async () => {
    await f.start({ fake: { test: false }, env: { YOOKASSA_ALLOW_TEST_PAYMENTS: 'true' } })
    const after = await payAndNotify({ test: true })
    expect(after, after.row).toMatchObject({ status: 'succeeded', plan: 'pro' })
    expect((await startupLine())?.testPayments).toBe('accepted')
    expect(f.h.logText()).toContain('live shop with test payments switched on')
  })

  it('a live payment costs no extra call to GET /me', async () => {
    await f.start({ fake: { test: false } })
    const { payment_id } = await f.paidCheckout()
    expect((await f.deliver('payment.succeeded', payment_id)).status).toBe(200)
    expect(f.fake.requestsTo('GET', /^\/me$/)).toHaveLength(0)
  })
})

it('YOOKASSA_ALLOW_TEST_PAYMENTS other than true/false fails the start, naming the variable', () => {
  expect(() => loadConfig({ env: { YOOKASSA_ALLOW_TEST_PAYMENTS: 'maybe' } })).toThrow(
    /yookassa\.allowTestPayments \(from YOOKASSA_ALLOW_TEST_PAYMENTS\)/,
  )
})
