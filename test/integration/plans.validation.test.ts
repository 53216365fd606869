import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, SEED_CURL_BODY } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

const PLANS = '/api/v1/billing/plans'
let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness({ config: { plans: [] } })
  admin = await h.adminToken()
})
afterAll(() => h.close())

const valid = { ...SEED_CURL_BODY, id: 'ok' }

/** [what is wrong, the body, the field the 400 must name] */
const BAD_BODIES: Array<[string, Record<string, unknown>, string]> = [
  ['negative price', { ...valid, price: -1 }, 'price'],
  ['three decimals', { ...valid, price: 10.005 }, 'price'],
  ['three decimals as a string', { ...valid, price: '10.005' }, 'price'],
  ['a float sum', { ...valid, price: 0.1 + 0.2 }, 'price'],
  ['exponent string', { ...valid, price: '1e3' }, 'price'],
  ['negative string', { ...valid, price: '-5.00' }, 'price'],
  ['price not a number', { ...valid, price: 'cheap' }, 'price'],
  ['price a boolean', { ...valid, price: true }, 'price'],
  ['price missing', { name: 'X' }, 'price'],
  ['name missing', { price: 1 }, 'name'],
  ['name empty', { ...valid, name: '  ' }, 'name'],
  ['name not a string', { ...valid, name: 5 }, 'name'],
  ['lower-case currency', { ...valid, currency: 'rub' }, 'currency'],
  ['two-letter currency', { ...valid, currency: 'RU' }, 'currency'],
  ['not an ISO 4217 code', { ...valid, currency: 'ABC' }, 'currency'],
  ['unknown interval', { ...valid, interval: 'hour' }, 'interval'],
  ['unknown metric', { ...valid, quotas: { requests: 1, images: 5 } }, 'quotas.images'],
  ['negative quota', { ...valid, quotas: { requests: -1 } }, 'quotas.requests'],
  ['fractional quota', { ...valid, quotas: { tokens_input: 1.5 } }, 'quotas.tokens_input'],
  ['quota as a string', { ...valid, quotas: { tokens_output: '10' } }, 'quotas.tokens_output'],
  ['quotas an array', { ...valid, quotas: [1, 2] }, 'quotas'],
  ['feature not a string', { ...valid, features: ['gpt4_access', 3] }, 'features.1'],
  ['features a string', { ...valid, features: 'gpt4_access' }, 'features'],
  ['is_active a string', { ...valid, is_active: 'yes' }, 'is_active'],
  ['display_order fractional', { ...valid, display_order: 1.5 }, 'display_order'],
  ['id with spaces', { ...valid, id: 'my plan' }, 'id'],
  ['id empty', { ...valid, id: '' }, 'id'],
  ['unknown field', { ...valid, colour: 'blue' }, 'colour'],
  ['name_ru a number', { ...valid, name_ru: 1 }, 'name_ru'],
  ['created_at negative', { ...valid, created_at: -1 }, 'created_at'],
]

describe(`plan validation (${TEST_DIALECT})`, () => {
  it.each(BAD_BODIES)('POST with %s is a 400 naming the field', async (_, body, field) => {
    const res = await call(h, 'POST', PLANS, body, admin)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.code, res.text).toBe('validation_failed')
    expect(res.body.error.param.split(','), res.text).toContain(field)
    expect(res.body.error.message, res.text).toContain(`${field}:`)
  })

  it('names every bad field at once', async () => {
    const res = await call(h, 'POST', PLANS, { price: -1, currency: 'x', interval: 'hour' }, admin)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.param.split(',').sort(), res.text).toEqual(
      ['currency', 'interval', 'name', 'price'].sort(),
    )
  })

  it.each([
    ['negative price', { price: -1 }, 'price'],
    ['unknown metric', { quotas: { foo: 1 } }, 'quotas.foo'],
    ['the id (it cannot change)', { id: 'other' }, 'id'],
    ['a bad currency', { currency: 'usd' }, 'currency'],
  ])('PATCH with %s is a 400 naming the field', async (_, body, field) => {
    const res = await call(h, 'PATCH', `${PLANS}/ok`, body, admin)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error.param.split(','), res.text).toContain(field)
  })

  it('malformed JSON is a 400 in the error envelope', async () => {
    const res = await h.request(PLANS, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h.auth(admin) },
      body: '{"name": "x",',
    })
    const text = await res.text()
    expect(res.status, text).toBe(400)
    expect(JSON.parse(text).error.code, text).toBe('invalid_json')
  })

  it('nothing was written by any rejected body', async () => {
    const rows = await h.db.selectFrom('billing_plan').select('id').execute()
    expect(rows).toEqual([])
  })
})
