import { afterEach, describe, expect, it } from 'vitest'
import type { HarnessOptions } from '../helpers/harness.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * Trusted service keys: one key for a whole front-end, billing the
 * end user each request names, and only when the key was created for it.
 */
let f: ProxyFixture
afterEach(async () => {
  await f?.close()
})

const USERS = [
  '3f2a1b7c-1111-4a5b-9c8d-000000000001',
  '3f2a1b7c-2222-4a5b-9c8d-000000000002',
  '3f2a1b7c-3333-4a5b-9c8d-000000000003',
]

async function setup(config: HarnessOptions['config'] = {}) {
  f = await startProxyFixture({ config })
}

async function createKey(body: Record<string, unknown>, token?: string) {
  const res = await f.h.json('POST', '/api/v1/keys', body, token ?? (await f.h.adminToken()))
  const text = await res.text()
  expect(res.status, text).toBe(201)
  return (JSON.parse(text) as { key: string }).key
}

async function chat(key: string, headers: Record<string, string> = {}, extra = {}) {
  const res = await fetch(`${f.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      ...extra,
    }),
  })
  return { status: res.status, text: await res.text() }
}

async function get(path: string, key: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${f.base}${path}`, {
    headers: { authorization: `Bearer ${key}`, ...headers },
  })
  const text = await res.text()
  return { status: res.status, text, body: text ? JSON.parse(text) : null }
}

const userRows = () =>
  f.h.db.selectFrom('gateway_user').select(['id', 'email', 'role']).orderBy('id').execute()

describe('a key created with acts_for_users', () => {
  it('bills the user X-OpenWebUI-User-Id names: three ids, three users, chat ids stored', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    for (const [i, id] of USERS.entries()) {
      const res = await chat(service, {
        'X-OpenWebUI-User-Id': id,
        'X-OpenWebUI-User-Email': `user${i}@example.com`,
        'X-OpenWebUI-User-Name': 'Some%20One',
        'X-OpenWebUI-User-Role': 'admin',
        'X-OpenWebUI-Chat-Id': `chat-${i}`,
      })
      expect(res.status, res.text).toBe(200)
    }
    for (const [i, id] of USERS.entries()) {
      const ledger = await f.ledger(id)
      expect(ledger.used, id).toEqual({ requests: 1, tokens_input: 12, tokens_output: 7 })
      expect(new Set(ledger.usage.map((u) => u.chat_id))).toEqual(new Set([`chat-${i}`]))
    }
    expect((await f.ledger('admin')).used).toEqual({
      requests: 0,
      tokens_input: 0,
      tokens_output: 0,
    })
    // Created on first sight, as plain users (the forwarded role counts for nothing).
    const rows = await userRows()
    expect(rows.filter((r) => USERS.includes(r.id))).toEqual(
      USERS.map((id, i) => ({ id, email: `user${i}@example.com`, role: 'user' })),
    )
  })

  it('billing routes and quotas see the end user', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const as = { 'X-OpenWebUI-User-Id': USERS[0]! }
    const email = { 'X-OpenWebUI-User-Email': 'user0@example.com' }
    expect((await chat(service, { ...as, ...email })).status).toBe(200)
    // Asked without the email header, /me shows the email stored when the user was first named.
    const me = await get('/api/v1/billing/me', service, as)
    expect(me.status, me.text).toBe(200)
    expect(me.body.user).toEqual({ id: USERS[0], email: 'user0@example.com', role: 'user' })
    expect(me.body.plan.id, me.text).toBe('test')
    expect(me.body.usage.requests, me.text).toMatchObject({ used: 1, limit: 1000 })
    const usage = await get('/api/v1/billing/usage/tokens_output', service, as)
    expect(usage.body, usage.text).toMatchObject({ metric: 'tokens_output', used: 7 })
    // Another end user's view is their own.
    const other = await get('/api/v1/billing/me', service, { 'X-OpenWebUI-User-Id': USERS[1]! })
    expect(other.body.usage.requests, other.text).toMatchObject({ used: 0 })
  })

  it('is never an admin, with or without a user named, and cannot manage keys', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const adminRoute = '/api/v1/billing/admin/subscriptions'
    expect((await get(adminRoute, service)).status).toBe(403)
    // Naming the admin user does not make the caller one, nor demote the admin on record.
    const asAdmin = await get(adminRoute, service, { 'X-OpenWebUI-User-Id': 'admin' })
    expect(asAdmin.status, asAdmin.text).toBe(403)
    expect((await userRows()).find((r) => r.id === 'admin')?.role).toBe('admin')
    const keys = await get('/api/v1/keys', service, { 'X-OpenWebUI-User-Id': USERS[0]! })
    expect(keys.status, keys.text).toBe(403)
    expect((await get('/metrics', service)).status).toBe(403)
  })

  it('names the user on every route it is taken on, never the owner by default', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const as = { 'X-OpenWebUI-User-Id': USERS[0]! }
    expect((await get('/v1/models', service, as)).status).toBe(200)
    expect((await get('/api/v1/billing/subscription', service, as)).body.user_id).toBe(USERS[0])
    expect((await get('/api/v1/billing/transactions', service, as)).status).toBe(200)
  })

  it.each([
    ['spaces', 'not a user'],
    ['a slash', '../admin'],
    ['too long', 'u'.repeat(129)],
    ['a leading dash', '-u1'],
    ['non-ASCII', 'usér'],
  ])('refuses an end user id with %s: 400 naming the header, nothing sent', async (_w, id) => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const res = await chat(service, { 'X-OpenWebUI-User-Id': id })
    expect(res.status, res.text).toBe(400)
    expect(JSON.parse(res.text).error).toMatchObject({
      code: 'invalid_request',
      param: 'x-openwebui-user-id',
    })
    expect(f.upstream.requests).toHaveLength(0)
    expect((await userRows()).map((r) => r.id)).toEqual(['admin'])
  })

  it('refuses a malformed email header with 400', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const res = await chat(service, {
      'X-OpenWebUI-User-Id': USERS[0]!,
      'X-OpenWebUI-User-Email': 'not-an-email',
    })
    expect(res.status, res.text).toBe(400)
    expect(JSON.parse(res.text).error.param).toBe('x-openwebui-user-email')
  })

  it('takes the header names from auth.actAs.userHeaders', async () => {
    await setup({ auth: { actAs: { userHeaders: ['x-app-user'] } } })
    const service = await createKey({ name: 'app', acts_for_users: true })
    expect((await chat(service, { 'X-App-User': 'app-user-1' })).status).toBe(200)
    // Another header names nobody: refused, naming the header that would.
    const other = await chat(service, { 'X-OpenWebUI-User-Id': USERS[0]! })
    expect(other.status, other.text).toBe(403)
    expect(JSON.parse(other.text).error.param).toBe('x-app-user')
    expect((await f.ledger('app-user-1')).used.requests).toBe(1)
    expect((await f.ledger(USERS[0]!)).used.requests).toBe(0)
    expect((await f.ledger('admin')).used.requests).toBe(0)
  })
})

/**
 * A service key that names nobody has no caller to act for: it was once its
 * owner, so one leaked from a front-end listed, revoked and minted the owner's
 * (an admin's) keys. Refused everywhere, 403 in the envelope, nothing changed.
 */
describe('a service key naming no user', () => {
  const refusal = {
    code: 'permission_denied',
    type: 'permission_error',
    param: 'x-openwebui-user-id',
  }

  async function send(key: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${f.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, text }
  }

  it.each([
    ['GET', '/api/v1/keys', undefined],
    ['POST', '/api/v1/keys', { name: 'minted', admin: true }],
    ['POST', '/api/v1/keys', { name: 'minted' }],
    ['GET', '/api/v1/billing/me', undefined],
    ['GET', '/api/v1/billing/subscription', undefined],
    ['POST', '/api/v1/billing/subscription/cancel', { immediate: true }],
    ['GET', '/api/v1/billing/usage', undefined],
    ['POST', '/api/v1/billing/usage/check', { metric: 'requests', amount: 1 }],
    ['GET', '/api/v1/billing/transactions', undefined],
    ['POST', '/api/v1/billing/payment', { plan_id: 'test', return_url: 'https://x.example/' }],
    ['GET', '/api/v1/billing/admin/subscriptions', undefined],
    ['GET', '/api/v1/billing/admin/margin', undefined],
    ['POST', '/api/v1/billing/admin/transactions/t1/refund', {}],
    ['POST', '/api/v1/billing/plans', { id: 'x', name: 'X', price: 0, quotas: {} }],
    ['GET', '/v1/models', undefined],
    ['GET', '/v1/models/gpt-4o-mini', undefined],
    [
      'POST',
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    ],
    ['POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }],
  ])('%s %s: 403 naming the header, nothing done as the owner', async (method, path, body) => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const keyRows = () =>
      f.h.db
        .selectFrom('gateway_api_key')
        .select(['id', 'user_id', 'revoked_at', 'is_admin'])
        .orderBy('id')
        .execute()
    const before = await keyRows()
    const res = await send(service, method, path, body)
    expect(res.status, res.text).toBe(403)
    expect(JSON.parse(res.text).error).toMatchObject(refusal)
    expect(JSON.parse(res.text).error.message).toContain('x-openwebui-user-id')
    expect(await keyRows()).toEqual(before)
    expect(f.upstream.requests).toHaveLength(0)
    expect((await f.ledger('admin')).used.requests).toBe(0)
  })

  it('never signs in to the pages, with a user named or not', async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const credentials: Array<Record<string, string>> = [
      { authorization: `Bearer ${service}` },
      { authorization: `Bearer ${service}`, 'X-OpenWebUI-User-Id': USERS[0]! },
      { cookie: `token=${service}` },
      { cookie: `token=${service}`, 'X-OpenWebUI-User-Id': 'admin' },
    ]
    for (const headers of credentials) {
      for (const page of ['/billing', '/admin']) {
        const res = await fetch(`${f.base}${page}`, { headers, redirect: 'manual' })
        expect(res.status, page).toBe(303)
        expect(res.headers.get('location'), page).toBe('/signin')
      }
    }
  })

  it("cannot revoke its owner's keys", async () => {
    await setup()
    const service = await createKey({ name: 'open-webui', acts_for_users: true })
    const list = await get('/api/v1/keys', await f.h.adminToken())
    const ids = (list.body.data as Array<{ id: string }>).map((k) => k.id)
    for (const id of ids) {
      const res = await send(service, 'DELETE', `/api/v1/keys/${id}`)
      expect(res.status, res.text).toBe(403)
    }
    expect((await get('/api/v1/keys', await f.h.adminToken())).body.data).toHaveLength(ids.length)
  })

  it('with auth.actAs.bodyUserField, a proxied body without `user` is refused before anything is reserved', async () => {
    await setup({ auth: { actAs: { bodyUserField: true } } })
    const service = await createKey({ name: 'librechat', acts_for_users: true })
    const res = await chat(service)
    expect(res.status, res.text).toBe(403)
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'permission_denied' })
    expect(JSON.parse(res.text).error.message).toContain('user')
    expect(f.upstream.requests).toHaveLength(0)
    expect((await f.ledger('admin')).reservations).toBe(0)
    // Its listing is refused too: a GET has no body to name anyone.
    expect((await get('/v1/models', service)).status).toBe(403)
    expect((await chat(service, {}, { user: 'lc-user-1' })).status).toBe(200)
  })
})

describe("an ordinary key's headers and user field change nothing", () => {
  it('the same headers with an ordinary key bill the key owner', async () => {
    await setup({ auth: { actAs: { bodyUserField: true } } })
    const bobKey = await createKey({ name: 'laptop' }, await f.token('bob'))
    const adminKey = await createKey({ name: 'everyday' })
    for (const key of [bobKey, adminKey]) {
      const res = await chat(key, { 'X-OpenWebUI-User-Id': USERS[0]! }, { user: USERS[1] })
      expect(res.status, res.text).toBe(200)
    }
    expect((await f.ledger('bob')).used.requests).toBe(1)
    expect((await f.ledger('admin')).used.requests).toBe(1)
    for (const id of USERS) expect((await f.ledger(id)).used.requests).toBe(0)
    expect((await userRows()).map((r) => r.id)).toEqual(['admin', 'bob'])
    const me = await get('/api/v1/billing/me', bobKey, { 'X-OpenWebUI-User-Id': USERS[0]! })
    expect(me.body.user.id, me.text).toBe('bob')
  })
})

describe('the body `user` field (auth.actAs.bodyUserField)', () => {
  it('bills the user the body names when on; a header still wins', async () => {
    await setup({ auth: { actAs: { bodyUserField: true } } })
    const service = await createKey({ name: 'librechat', acts_for_users: true })
    expect((await chat(service, {}, { user: 'lc-user-1' })).status).toBe(200)
    expect((await chat(service, {}, { user: 'lc-user-2' })).status).toBe(200)
    expect(
      (await chat(service, { 'X-OpenWebUI-User-Id': 'hdr-user' }, { user: 'lc-user-1' })).status,
    ).toBe(200)
    expect((await f.ledger('lc-user-1')).used.requests).toBe(1)
    expect((await f.ledger('lc-user-2')).used.requests).toBe(1)
    expect((await f.ledger('hdr-user')).used.requests).toBe(1)
    expect((await f.ledger('admin')).used.requests).toBe(0)
    // The field is OpenAI's own: it still goes upstream as sent.
    expect(f.upstream.requests.map((r) => r.body?.user)).toEqual([
      'lc-user-1',
      'lc-user-2',
      'lc-user-1',
    ])
  })

  it("the request log names the user the body named, the key's authentication unchanged", async () => {
    await setup({ auth: { actAs: { bodyUserField: true } } })
    const service = await createKey({ name: 'librechat', acts_for_users: true })
    expect((await chat(service, {}, { user: 'lc-user-1' })).status).toBe(200)
    const lines = f.h.logs.filter((l) => l.msg === 'request' && l.route === '/v1/chat/completions')
    expect(
      lines.map((l) => l.user),
      JSON.stringify(lines),
    ).toEqual(['lc-user-1'])
  })

  it('refuses a bad `user` with 400 naming it, before anything is reserved', async () => {
    await setup({ auth: { actAs: { bodyUserField: true } } })
    const service = await createKey({ name: 'librechat', acts_for_users: true })
    for (const user of ['x'.repeat(200), 42, 'two words']) {
      const res = await chat(service, {}, { user })
      expect(res.status, res.text).toBe(400)
      expect(JSON.parse(res.text).error.param).toBe('user')
    }
    expect(f.upstream.requests).toHaveLength(0)
    expect((await f.ledger('admin')).reservations).toBe(0)
  })

  it('is ignored when the setting is off (the default): nobody is named, refused', async () => {
    await setup()
    const service = await createKey({ name: 'librechat', acts_for_users: true })
    expect((await chat(service, {}, { user: 'lc-user-1' })).status).toBe(403)
    expect((await f.ledger('admin')).used.requests).toBe(0)
    expect((await f.ledger('lc-user-1')).used.requests).toBe(0)
    expect(f.upstream.requests).toHaveLength(0)
  })
})

describe('chat id headers', () => {
  it('X-OpenWebUI-Chat-Id is stored like X-Chat-Id, for any caller', async () => {
    await setup()
    const res = await f.fetch('carol', '/v1/chat/completions', {
      method: 'POST',
      headers: { 'X-OpenWebUI-Chat-Id': 'owui-chat-9' },
      json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(res.status, await res.text()).toBe(200)
    const usage = (await f.ledger('carol')).usage
    expect(usage.length).toBeGreaterThan(0)
    expect(
      usage.every((u) => u.chat_id === 'owui-chat-9'),
      JSON.stringify(usage),
    ).toBe(true)
  })
})
