import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, SEED_CURL_BODY } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/** A plan's rate windows through the plans API (docs/quotas.md, "Rate windows"). */
const PLANS = '/api/v1/billing/plans'
let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness({ config: { plans: [] } })
  admin = await h.adminToken()
})
afterAll(() => h.close())

describe(`plan rate windows (${TEST_DIALECT})`, () => {
  it('are stored, shown, merged by PATCH (null removes one) and absent from plans without them', async () => {
    const quotas = { requests: 100, requests_per_minute: 10, tokens_per_day: 50_000 }
    const created = await call(h, 'POST', PLANS, { ...SEED_CURL_BODY, id: 'win', quotas }, admin)
    expect(created.status, created.text).toBe(201)
    expect(created.body.quotas).toMatchObject(quotas)
    const patched = await call(
      h,
      'PATCH',
      `${PLANS}/win`,
      { quotas: { requests_per_minute: null, tokens_per_minute: 2000 } },
      admin,
    )
    expect(patched.status, patched.text).toBe(200)
    expect(patched.body.quotas).toMatchObject({ tokens_per_day: 50_000, tokens_per_minute: 2000 })
    expect(patched.body.quotas).not.toHaveProperty('requests_per_minute')
    const zoned = await call(
      h,
      'PATCH',
      `${PLANS}/win`,
      { quotas: { window_time_zone: 'Europe/Moscow' } },
      admin,
    )
    expect(zoned.body.quotas, zoned.text).toMatchObject({ window_time_zone: 'Europe/Moscow' })
    const plain = await call(h, 'POST', PLANS, { ...SEED_CURL_BODY, id: 'plain' }, admin)
    for (const window of ['requests_per_minute', 'tokens_per_minute', 'requests_per_day']) {
      expect(plain.body.quotas).not.toHaveProperty(window)
    }
  })

  it.each([
    ['negative', 'tokens_per_minute', -1],
    ['fractional', 'tokens_per_minute', 1.5],
    ['a string', 'tokens_per_minute', '10'],
    ['an unknown time zone', 'window_time_zone', 'Mars/Olympus'],
    ['an offset for a time zone', 'window_time_zone', '+03:00 MSK'],
  ])('a %s window is a 400 naming it, and nothing is written', async (_what, field, value) => {
    const body = { ...SEED_CURL_BODY, id: 'bad', quotas: { [field]: value } }
    const res = await call(h, 'POST', PLANS, body, admin)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.param.split(','), res.text).toContain(`quotas.${field}`)
    expect((await call(h, 'GET', `${PLANS}/bad`, undefined, admin)).status).toBe(404)
  })
})
