import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type FakeYooKassa,
  startFakeYooKassa,
  WEBHOOK_PATH,
  yookassaEnv,
} from '../helpers/fake-yookassa.ts'
import { createHarness, type Harness, TEST_JWT_SECRET } from '../helpers/harness.ts'

const UPSTREAM_KEY = 'sk-upstream-secret-do-not-log-7f3a9c1e5b'
const WEBHOOK_SECRET = 'webhook-secret-do-not-log-4d2e8a'

describe('logs', () => {
  let h: Harness
  let yookassa: FakeYooKassa | undefined
  afterEach(async () => {
    await h?.close()
    await yookassa?.close()
    yookassa = undefined
  })

  it('never hold a JWT, an API key or a configured secret, whatever the requests carry', async () => {
    yookassa = await startFakeYooKassa({ secretKey: 'live_yookassa-secret-do-not-log-91c0' })
    h = await createHarness({
      env: {
        ...yookassaEnv(yookassa),
        UPSTREAM_API_KEY: UPSTREAM_KEY,
        YOOKASSA_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    })
    const base = await h.listen()
    const now = Math.floor(h.clock.now() / 1000)
    const userJwt = await h.token({ sub: 'alice', email: 'alice@example.com' })
    const adminJwt = await h.adminToken()
    const expiredJwt = await h.token({ sub: 'alice', expiresIn: -60 })
    const forgedJwt = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode('forged-secret-0123456789abcdef0123'))

    // A key is created, used, listed and revoked; bad credentials of every kind are tried.
    const created = await h.json('POST', '/api/v1/keys', { name: 'ci' }, userJwt)
    const { id, key } = (await created.json()) as { id: string; key: string }
    expect(key).toMatch(/^sk-/)
    await h.request('/api/v1/keys', { headers: h.auth(key) })
    await h.request('/api/v1/keys', { headers: h.auth(adminJwt) })
    await h.request(`/api/v1/keys/${id}`, { method: 'DELETE', headers: h.auth(userJwt) })
    await h.request('/api/v1/keys', { headers: h.auth(key) })
    for (const bad of [expiredJwt, forgedJwt, `${userJwt}x`, 'sk-guessed-key-0000000000000']) {
      await h.request('/api/v1/keys', { headers: h.auth(bad) })
    }
    // Secrets in places a careless log line would pick up: the URL, a body, other headers.
    await h.request(`/no/such/route?token=${userJwt}&key=${key}`, { headers: h.auth(userJwt) })
    await h.request('/api/v1/keys', {
      method: 'POST',
      headers: { ...h.auth(userJwt), 'content-type': 'application/json', 'x-api-key': key },
      body: `{"name": "${TEST_JWT_SECRET}`,
    })
    const accepted = await fetch(`${base}${WEBHOOK_PATH}?secret=${WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'notification',
        event: 'payment.succeeded',
        object: { id: 'pay-unknown-to-the-gateway', status: 'succeeded' },
      }),
    })
    const refused = await fetch(`${base}${WEBHOOK_PATH}?secret=wrong-${WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })

    // Both notifications got past the source check: the secret was really looked at.
    expect(accepted.status, await accepted.text()).toBe(200)
    expect(refused.status, await refused.text()).toBe(401)

    const text = h.logText()
    expect(h.logs.length, text).toBeGreaterThan(10)
    const secrets = {
      userJwt,
      adminJwt,
      expiredJwt,
      forgedJwt,
      apiKey: key,
      apiKeyBody: key.slice(3),
      jwtSecret: TEST_JWT_SECRET,
      upstreamKey: UPSTREAM_KEY,
      yookassaSecretKey: yookassa.secretKey,
      webhookSecret: WEBHOOK_SECRET,
      // The signature part alone identifies a token: it must not appear either.
      userJwtSignature: userJwt.split('.')[2]!,
    }
    for (const [name, secret] of Object.entries(secrets)) {
      expect(text.includes(secret), `${name} found in the log:\n${text}`).toBe(false)
    }
  })

  it('write one structured line per request: method, route, status, duration, user, request id', async () => {
    h = await createHarness()
    const res = await h.request('/api/v1/keys', {
      headers: h.auth(await h.token({ sub: 'alice' })),
    })
    expect(res.status).toBe(200)
    const requestId = res.headers.get('x-request-id')
    const lines = h.logs.filter((line) => line.requestId === requestId && line.method)
    expect(lines, h.logText()).toHaveLength(1)
    expect(lines[0], h.logText()).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/api/v1/keys',
      status: 200,
      durationMs: expect.any(Number),
      user: 'alice',
      requestId,
    })
  })

  it('redact secret-looking fields that a log call might pass by mistake', async () => {
    h = await createHarness()
    h.deps.logger.info(
      {
        headers: { authorization: 'Bearer leak-1' },
        token: 'leak-2',
        apiKey: 'leak-3',
        nested: { secret: 'leak-4', api_key: 'leak-5', password: 'leak-6' },
        payment: { payment_method_id: 'leak-7' },
      },
      'probe',
    )
    const text = h.logText()
    expect(text, text).toContain('probe')
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(text, text).not.toContain(`leak-${n}`)
  })
})
