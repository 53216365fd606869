import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness, TEST_JWT_SECRET } from '../helpers/harness.ts'

/** A user route (any signed-in caller gets 200) and an admin route (refunds: admins only). */
const USER_ROUTE = '/api/v1/keys'
const ADMIN_ROUTE = '/api/v1/billing/admin/transactions/no-such-transaction/refund'
const DAY = 86_400

let h: Harness
afterEach(async () => {
  await h?.close()
})

const nowSec = () => Math.floor(h.clock.now() / 1000)

/** A token as Open WebUI mints it with JWT_EXPIRES_IN=-1: `id`, no `exp`; `iat` only if given. */
function tokenWithoutExp(iat?: number) {
  const jwt = new SignJWT({ id: 'owui-user' }).setProtectedHeader({ alg: 'HS256' })
  if (iat !== undefined) jwt.setIssuedAt(iat)
  return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET))
}

async function get(path: string, bearer: string) {
  const res = await h.request(path, { headers: h.auth(bearer) })
  return { status: res.status, text: await res.text() }
}

async function post(path: string, body: unknown, bearer: string) {
  const res = await h.json('POST', path, body, bearer)
  const text = await res.text()
  return { status: res.status, text, body: text ? JSON.parse(text) : null }
}

describe('JWT without exp (auth.maxTokenAgeSeconds, 30 days by default)', () => {
  it('is accepted within the age of its iat, refused past it and without iat', async () => {
    h = await createHarness()
    const recent = await tokenWithoutExp(nowSec() - 60)
    expect((await get(USER_ROUTE, recent)).status).toBe(200)

    const old = await tokenWithoutExp(nowSec() - 30 * DAY - 1)
    const refused = await get(USER_ROUTE, old)
    expect(refused.status, refused.text).toBe(401)
    expect(JSON.parse(refused.text).error.code).toBe('invalid_api_key')

    const noIat = await get(USER_ROUTE, await tokenWithoutExp())
    expect(noIat.status, noIat.text).toBe(401)

    // The token accepted above stops working once it is 30 days old, cached or not.
    h.clock.advance(30 * DAY * 1000)
    expect((await get(USER_ROUTE, recent)).status).toBe(401)
  })

  it('is refused outright when the setting is 0 (JWT_MAX_TOKEN_AGE_SECONDS=0)', async () => {
    h = await createHarness({ env: { JWT_MAX_TOKEN_AGE_SECONDS: '0' } })
    const fresh = await get(USER_ROUTE, await tokenWithoutExp(nowSec()))
    expect(fresh.status, fresh.text).toBe(401)
    // Tokens with exp are not affected.
    expect((await get(USER_ROUTE, await h.token({ sub: 'alice' }))).status).toBe(200)
  })

  it('is refused when its iat lies in the future', async () => {
    h = await createHarness()
    const ahead = await get(USER_ROUTE, await tokenWithoutExp(nowSec() + 3600))
    expect(ahead.status, ahead.text).toBe(401)
  })
})

describe('API keys: admin only by an explicit flag, with an optional expiry', () => {
  it("an admin's ordinary key is not an admin credential; one created with admin: true is", async () => {
    h = await createHarness()
    const admin = await h.adminToken()
    const plain = await post(USER_ROUTE, { name: 'everyday' }, admin)
    expect(plain.status, plain.text).toBe(201)
    expect(plain.body).toMatchObject({ admin: false, acts_for_users: false, expires_at: null })
    const asPlain = await post(ADMIN_ROUTE, {}, plain.body.key)
    expect(asPlain.status, asPlain.text).toBe(403)

    const flagged = await post(USER_ROUTE, { name: 'ops', admin: true }, admin)
    expect(flagged.status, flagged.text).toBe(201)
    expect(flagged.body.admin).toBe(true)
    const asAdmin = await post(ADMIN_ROUTE, {}, flagged.body.key)
    expect([401, 403], asAdmin.text).not.toContain(asAdmin.status)

    const listed = JSON.parse((await get(USER_ROUTE, admin)).text).data
    expect(listed.map((k: { name: string; admin: boolean }) => [k.name, k.admin])).toEqual([
      ['ops', true],
      ['everyday', false],
    ])
  })

  it('a non-admin asking for an admin or acting key gets 403 and no key', async () => {
    h = await createHarness()
    const bob = await h.token({ sub: 'bob' })
    for (const body of [
      { name: 'sneaky', admin: true },
      { name: 'service', acts_for_users: true },
    ]) {
      const res = await post(USER_ROUTE, body, bob)
      expect(res.status, res.text).toBe(403)
      expect(res.body.error.code).toBe('permission_denied')
    }
    // Nor can an admin key without the flag mint one (it is the owner as a plain user).
    const plain = await post(USER_ROUTE, { name: 'everyday' }, await h.adminToken())
    const viaKey = await post(USER_ROUTE, { name: 'escalate', admin: true }, plain.body.key)
    expect(viaKey.status, viaKey.text).toBe(403)
    const rows = await h.db.selectFrom('gateway_api_key').select('name').execute()
    expect(rows.map((r) => r.name)).toEqual(['everyday'])
  })

  it('an admin key stops being admin when its owner is no longer an admin', async () => {
    h = await createHarness()
    const flagged = await post(USER_ROUTE, { name: 'ops', admin: true }, await h.adminToken())
    // The owner signs in again as a plain user: the role on record follows the token.
    await get(USER_ROUTE, await h.token({ sub: 'admin' }))
    h.clock.advance(6_000) // past auth.apiKeyCacheMs (5 s)
    const res = await post(ADMIN_ROUTE, {}, flagged.body.key)
    expect(res.status, res.text).toBe(403)
  })

  it('an expired key is refused with 401, even from the key cache', async () => {
    h = await createHarness()
    const admin = await h.adminToken()
    const short = await post(USER_ROUTE, { name: 'short', expires_at: nowSec() + 2 }, admin)
    expect(short.status, short.text).toBe(201)
    expect(short.body.expires_at).toBe(nowSec() + 2)
    expect((await get(USER_ROUTE, short.body.key)).status).toBe(200) // now cached (5 s)
    h.clock.advance(2_000)
    const expired = await get(USER_ROUTE, short.body.key)
    expect(expired.status, expired.text).toBe(401)
    expect(JSON.parse(expired.text).error.message).toMatch(/expired/)

    const days = await post(USER_ROUTE, { name: 'week', admin: true, expires_in_days: 7 }, admin)
    expect(days.body.expires_at).toBe(nowSec() + 7 * DAY)
    expect((await get(USER_ROUTE, days.body.key)).status).toBe(200)
    h.clock.advance(7 * DAY * 1000)
    expect((await get(USER_ROUTE, days.body.key)).status).toBe(401)
  })

  it('a bad expiry is a 400 naming it, and creates nothing', async () => {
    h = await createHarness()
    const admin = await h.adminToken()
    for (const body of [
      { name: 'past', expires_at: nowSec() - 1 },
      { name: 'both', expires_at: nowSec() + DAY, expires_in_days: 1 },
      { name: 'zero', expires_in_days: 0 },
      { name: 'both flags', admin: true, acts_for_users: true },
    ]) {
      const res = await post(USER_ROUTE, body, admin)
      expect(res.status, res.text).toBe(400)
      expect(res.body.error.param, res.text).toMatch(/expire|acts_for_users/)
    }
    expect(await h.db.selectFrom('gateway_api_key').select('id').execute()).toEqual([])
  })
})
