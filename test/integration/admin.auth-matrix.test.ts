import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** Every admin route of the billing API this issue owns, with a body that would be valid. */
const ADMIN_ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/api/v1/billing/plans', { id: 'x', name: 'X', price: 1 }],
  ['PATCH', '/api/v1/billing/plans/pro', { name: 'Changed' }],
  ['DELETE', '/api/v1/billing/plans/pro', undefined],
  ['POST', '/api/v1/billing/admin/subscriptions', { user_id: 'u9', plan_id: 'pro', periods: 1 }],
  ['GET', '/api/v1/billing/admin/subscriptions', undefined],
  ['GET', '/api/v1/billing/admin/subscriptions?user_id=u9', undefined],
]

/** Routes for any signed-in user. */
const USER_ROUTES: Array<[string, string, unknown]> = [
  ['GET', '/api/v1/billing/subscription', undefined],
  ['POST', '/api/v1/billing/subscription/cancel', { immediate: false }],
  ['GET', '/api/v1/billing/usage/requests', undefined],
  ['POST', '/api/v1/billing/usage/check', { metric: 'requests', amount: 1 }],
  ['GET', '/api/v1/billing/me', undefined],
]

describe(`billing access matrix (${TEST_DIALECT})`, () => {
  it.each(ADMIN_ROUTES)(
    '%s %s: 401 without a token or with a bad one',
    async (method, path, body) => {
      const none = await call(h, method, path, body)
      expect(none.status, none.text).toBe(401)
      expect(none.body.error.type, none.text).toBe('invalid_request_error')
      const bad = await call(h, method, path, body, 'not-a-jwt')
      expect(bad.status, bad.text).toBe(401)
      const expired = await call(
        h,
        method,
        path,
        body,
        await h.token({ sub: 'admin', role: 'admin', expiresIn: -10 }),
      )
      expect(expired.status, expired.text).toBe(401)
    },
  )

  it.each(ADMIN_ROUTES)('%s %s: 403 for a signed-in non-admin', async (method, path, body) => {
    const res = await call(h, method, path, body, await h.token({ sub: 'u1' }))
    expect(res.status, res.text).toBe(403)
    expect(res.body.error.code, res.text).toBe('permission_denied')
  })

  it.each(USER_ROUTES)('%s %s: 401 without a token', async (method, path, body) => {
    const res = await call(h, method, path, body)
    expect(res.status, res.text).toBe(401)
  })

  it('GET /plans is public', async () => {
    const res = await call(h, 'GET', '/api/v1/billing/plans')
    expect(res.status, res.text).toBe(200)
    expect(res.body.map((p: { id: string }) => p.id)).toEqual(['free', 'pro'])
  })

  it('nothing changed through the refused calls, and an admin passes', async () => {
    const plans = await call(h, 'GET', '/api/v1/billing/plans')
    expect(plans.body.find((p: { id: string }) => p.id === 'pro').name, plans.text).toBe('Pro')
    const subs = await h.db.selectFrom('billing_subscription').selectAll().execute()
    expect(subs.filter((s) => s.user_id === 'u9')).toEqual([])
    const res = await call(
      h,
      'GET',
      '/api/v1/billing/admin/subscriptions',
      undefined,
      await h.adminToken(),
    )
    expect(res.status, res.text).toBe(200)
  })
})
