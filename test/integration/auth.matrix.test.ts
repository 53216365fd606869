import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'

/** A protected user route and an admin route (refunds are for administrators only). */
const USER_ROUTE = '/api/v1/keys'
const ADMIN_ROUTE = '/api/v1/billing/admin/transactions/no-such-transaction/refund'

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

async function call(h: Harness, authorization?: string, path = USER_ROUTE, method = 'GET') {
  const res = await h.request(path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: method === 'GET' ? undefined : '{}',
  })
  return { res, text: await res.text() }
}

function expect401({ res, text }: { res: Response; text: string }) {
  expect(res.status, text).toBe(401)
  const body = JSON.parse(text)
  expect(body, text).toEqual({
    error: {
      message: expect.any(String),
      type: 'invalid_request_error',
      code: expect.stringMatching(/^(invalid_api_key|missing_credentials)$/),
      param: null,
    },
  })
  expect(res.headers.get('x-request-id'), text).toBeTruthy()
}

describe('authentication with JWT_SECRET (HS256)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  it('accepts a valid token (the baseline every refusal below is measured against)', async () => {
    const { res, text } = await call(h, `Bearer ${await h.token({ sub: 'alice' })}`)
    expect(res.status, text).toBe(200)
  })

  it('refuses a request without the Authorization header', async () => {
    expect401(await call(h))
  })

  it.each([
    ['garbage', 'Bearer garbage'],
    ['an empty bearer', 'Bearer '],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['a made-up API key', 'Bearer sk-this-is-not-a-key-of-this-gateway-000000000000'],
    ['three dots of nothing', 'Bearer a.b.c'],
  ])('refuses %s', async (_name, header) => {
    expect401(await call(h, header))
  })

  it('refuses a token signed with another secret', async () => {
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime(Math.floor(h.clock.now() / 1000) + 3600)
      .sign(new TextEncoder().encode('not-the-gateway-secret-0123456789abcdef'))
    expect401(await call(h, `Bearer ${forged}`))
  })

  it('refuses a valid token whose payload was altered', async () => {
    const [header, , signature] = (await h.token({ sub: 'alice' })).split('.')
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', role: 'admin', exp: Math.floor(h.clock.now() / 1000) + 3600 }),
    ).toString('base64url')
    expect401(await call(h, `Bearer ${header}.${payload}.${signature}`))
  })

  it('refuses an unsigned token (alg none)', async () => {
    const unsigned = new UnsecuredJWT({ role: 'admin' })
      .setSubject('alice')
      .setExpirationTime(Math.floor(h.clock.now() / 1000) + 3600)
      .encode()
    expect401(await call(h, `Bearer ${unsigned}`))
  })

  it('refuses a token once it has expired by the injected clock', async () => {
    const token = await h.token({ sub: 'alice', expiresIn: 60 })
    const before = await call(h, `Bearer ${token}`)
    expect(before.res.status, before.text).toBe(200)
    h.clock.advance(61_000)
    expect401(await call(h, `Bearer ${token}`))
  })

  it('refuses a token that names no user (neither sub nor id)', async () => {
    expect401(await call(h, `Bearer ${await h.token({ email: 'nobody@example.com' })}`))
  })

  it('takes the user id from `id` when `sub` is absent (Open WebUI tokens) and records the user', async () => {
    const token = await h.token({ id: 'owui-42', email: 'owui@example.com' })
    const created = await h.json('POST', '/api/v1/keys', { name: 'from open webui' }, token)
    const text = await created.text()
    expect(created.status, text).toBe(201)
    const key = await h.db
      .selectFrom('gateway_api_key')
      .select('user_id')
      .where('id', '=', JSON.parse(text).id)
      .executeTakeFirstOrThrow()
    expect(key.user_id).toBe('owui-42')
    const user = await h.db
      .selectFrom('gateway_user')
      .selectAll()
      .where('id', '=', 'owui-42')
      .executeTakeFirst()
    expect(user, JSON.stringify(user)).toMatchObject({
      id: 'owui-42',
      email: 'owui@example.com',
      role: 'user',
      created_at: Math.floor(h.clock.now() / 1000),
    })
  })

  it('answers 403 to a user on an admin route, and lets an admin through', async () => {
    const user = await call(h, `Bearer ${await h.token({ sub: 'bob' })}`, ADMIN_ROUTE, 'POST')
    expect(user.res.status, user.text).toBe(403)
    expect(JSON.parse(user.text).error, user.text).toMatchObject({
      type: 'permission_error',
      code: 'permission_denied',
    })
    const admin = await call(h, `Bearer ${await h.adminToken()}`, ADMIN_ROUTE, 'POST')
    expect([401, 403], admin.text).not.toContain(admin.res.status)
  })

  it('refuses an admin route without a token with 401, not 403', async () => {
    expect401(await call(h, undefined, ADMIN_ROUTE, 'POST'))
  })
})

describe('authentication with a JWKS (an identity provider)', () => {
  const ISSUER = 'https://idp.example.test/'
  const AUDIENCE = 'llm-gateway'
  let jwks: Server
  let jwksUrl: string
  let privateKey: SigningKey
  let otherKey: SigningKey
  let h: Harness

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true })
    privateKey = pair.privateKey
    otherKey = (await generateKeyPair('RS256')).privateKey
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: [jwk] }))
    })
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`
  })
  afterEach(async () => {
    await h?.close()
  })
  afterAll(async () => {
    await new Promise((resolve) => jwks.close(resolve))
  })

  const harness = () =>
    createHarness({
      env: { JWT_JWKS_URL: jwksUrl, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
    })

  function rs256(claims: Record<string, unknown>, key = privateKey, kid = 'k1') {
    const now = Math.floor(h.clock.now() / 1000)
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key)
  }

  it('accepts an RS256 token of the identity provider, with issuer and audience', async () => {
    h = await harness()
    const token = await rs256({ sub: 'carol', iss: ISSUER, aud: AUDIENCE })
    const { res, text } = await call(h, `Bearer ${token}`)
    expect(res.status, text).toBe(200)
  })

  it('refuses an HS256 token signed with JWT_SECRET when a JWKS is configured', async () => {
    h = await harness()
    // The harness still sets JWT_SECRET: the JWKS must win, with algorithms pinned to asymmetric ones.
    expect401(await call(h, `Bearer ${await h.token({ sub: 'carol' })}`))
  })

  it('refuses an RS256 token signed by a key the JWKS does not hold', async () => {
    h = await harness()
    expect401(
      await call(
        h,
        `Bearer ${await rs256({ sub: 'carol', iss: ISSUER, aud: AUDIENCE }, otherKey)}`,
      ),
    )
  })

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example.test/', aud: AUDIENCE }],
    ['a wrong audience', { iss: ISSUER, aud: 'another-service' }],
    ['no issuer and no audience', {}],
  ])('refuses a token with %s', async (_name, claims) => {
    h = await harness()
    expect401(await call(h, `Bearer ${await rs256({ sub: 'carol', ...claims })}`))
  })

  it('refuses an expired RS256 token by the injected clock', async () => {
    h = await harness()
    const token = await rs256({ sub: 'carol', iss: ISSUER, aud: AUDIENCE })
    expect((await call(h, `Bearer ${token}`)).res.status).toBe(200)
    h.clock.advance(3601_000)
    expect401(await call(h, `Bearer ${token}`))
  })
})
