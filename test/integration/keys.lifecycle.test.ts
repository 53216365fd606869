import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'

const ADMIN_ROUTE = '/api/v1/billing/admin/transactions/no-such-transaction/refund'

describe('gateway API keys: created, used, listed, revoked', () => {
  let h: Harness
  beforeEach(async () => {
    h = await createHarness()
  })
  afterEach(async () => {
    await h?.close()
  })

  async function createKey(token: string, name = 'laptop') {
    const res = await h.json('POST', '/api/v1/keys', { name }, token)
    const text = await res.text()
    expect(res.status, text).toBe(201)
    return JSON.parse(text) as { id: string; name: string; key: string; created_at: number }
  }

  const get = async (path: string, bearer: string) => {
    const res = await h.request(path, { headers: h.auth(bearer) })
    return { res, text: await res.text() }
  }

  it('shows the key once, stores only its hash, and accepts it as a Bearer token', async () => {
    const alice = await h.token({ sub: 'alice' })
    const created = await createKey(alice)
    expect(created, JSON.stringify(created)).toEqual({
      id: expect.any(String),
      name: 'laptop',
      key: expect.stringMatching(/^sk-[A-Za-z0-9_-]{43,}$/),
      created_at: Math.floor(h.clock.now() / 1000),
      admin: false,
      acts_for_users: false,
      expires_at: null,
    })

    const rows = await h.db.selectFrom('gateway_api_key').selectAll().execute()
    expect(rows).toHaveLength(1)
    expect(JSON.stringify(rows)).not.toContain(created.key)
    expect(JSON.stringify(rows)).not.toContain(created.key.slice(12))

    const used = await get('/api/v1/keys', created.key)
    expect(used.res.status, used.text).toBe(200)
  })

  it('lists keys without key material, newest first, with last_used_at once used', async () => {
    const alice = await h.token({ sub: 'alice' })
    const first = await createKey(alice, 'first')
    h.clock.advance(5_000)
    const second = await createKey(alice, 'second')
    h.clock.advance(5_000)
    await get('/api/v1/keys', first.key)

    const { res, text } = await get('/api/v1/keys', alice)
    expect(res.status, text).toBe(200)
    const { data } = JSON.parse(text) as { data: Array<Record<string, unknown>> }
    expect(
      data.map((k) => k.name),
      text,
    ).toEqual(['second', 'first'])
    expect(data[1], text).toMatchObject({
      id: first.id,
      created_at: first.created_at,
      last_used_at: Math.floor(h.clock.now() / 1000),
    })
    expect(data[0], text).toMatchObject({ id: second.id, last_used_at: null })
    for (const item of data) expect(item, text).not.toHaveProperty('key')
    expect(text).not.toContain(first.key)
    expect(text).not.toContain(second.key)
  })

  it('a key revoked on another replica is refused there once its cached lookup expires', async () => {
    const other = await createHarness({ shareDatabaseWith: h })
    try {
      const alice = await h.token({ sub: 'alice' })
      const created = await createKey(alice)
      const onOther = () => other.request('/api/v1/keys', { headers: other.auth(created.key) })
      expect((await onOther()).status, 'the other replica looks the key up and caches it').toBe(200)

      const revoked = await h.request(`/api/v1/keys/${created.id}`, {
        method: 'DELETE',
        headers: h.auth(alice),
      })
      expect(revoked.status).toBe(204)
      expect((await get('/api/v1/keys', created.key)).res.status, 'here: at once').toBe(401)
      expect((await onOther()).status, 'there: within auth.apiKeyCacheMs (5 s)').toBe(200)
      h.clock.advance(5_000)
      expect((await onOther()).status, 'there: after it').toBe(401)
    } finally {
      await other.close()
    }
  })

  it('answers 401 to a revoked key, and a second DELETE is 404', async () => {
    const alice = await h.token({ sub: 'alice' })
    const created = await createKey(alice)
    expect((await get('/api/v1/keys', created.key)).res.status).toBe(200)

    const revoked = await h.request(`/api/v1/keys/${created.id}`, {
      method: 'DELETE',
      headers: h.auth(alice),
    })
    expect(revoked.status, await revoked.clone().text()).toBe(204)

    const after = await get('/api/v1/keys', created.key)
    expect(after.res.status, after.text).toBe(401)
    expect(JSON.parse(after.text).error.code, after.text).toBe('invalid_api_key')

    const listed = await get('/api/v1/keys', alice)
    expect(JSON.parse(listed.text).data, listed.text).toEqual([])

    const again = await h.request(`/api/v1/keys/${created.id}`, {
      method: 'DELETE',
      headers: h.auth(alice),
    })
    const againText = await again.text()
    expect(again.status, againText).toBe(404)
    expect(JSON.parse(againText).error.code, againText).toBe('not_found')
  })

  it("keeps one user's keys from another: not listed, not deletable", async () => {
    const alice = await h.token({ sub: 'alice' })
    const bob = await h.token({ sub: 'bob' })
    const aliceKey = await createKey(alice)

    const bobList = await get('/api/v1/keys', bob)
    expect(bobList.res.status, bobList.text).toBe(200)
    expect(JSON.parse(bobList.text).data, bobList.text).toEqual([])

    for (const bearer of [bob, (await createKey(bob, 'bob key')).key]) {
      const res = await h.request(`/api/v1/keys/${aliceKey.id}`, {
        method: 'DELETE',
        headers: h.auth(bearer),
      })
      const text = await res.text()
      expect([403, 404], text).toContain(res.status)
    }
    // Alice's key survived both attempts.
    expect((await get('/api/v1/keys', aliceKey.key)).res.status).toBe(200)
  })

  it("a user's key is refused on an admin route, an admin's admin key is not", async () => {
    const userKey = await createKey(await h.token({ sub: 'bob' }))
    const created = await h.json(
      'POST',
      '/api/v1/keys',
      { name: 'ops', admin: true },
      await h.adminToken(),
    )
    const adminKey = (await created.json()) as { key: string }
    const asUser = await h.request(ADMIN_ROUTE, {
      method: 'POST',
      headers: { ...h.auth(userKey.key), 'content-type': 'application/json' },
      body: '{}',
    })
    expect(asUser.status, await asUser.clone().text()).toBe(403)
    const asAdmin = await h.request(ADMIN_ROUTE, {
      method: 'POST',
      headers: { ...h.auth(adminKey.key), 'content-type': 'application/json' },
      body: '{}',
    })
    expect([401, 403], await asAdmin.clone().text()).not.toContain(asAdmin.status)
  })

  it('names the bad field when a key is created without a name', async () => {
    const res = await h.json(
      'POST',
      '/api/v1/keys',
      { label: 'x' },
      await h.token({ sub: 'alice' }),
    )
    const text = await res.text()
    expect(res.status, text).toBe(400)
    const { error } = JSON.parse(text)
    expect(error, text).toMatchObject({ type: 'invalid_request_error', code: 'validation_failed' })
    expect(error.param, text).toContain('name')
    expect(error.message, text).toContain('name')
  })
})
