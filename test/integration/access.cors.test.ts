import { afterEach, describe, expect, it } from 'vitest'
import fileConfig from '../../gateway.config.ts'
import { loadConfig } from '../../src/config/load.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/** CORS on /v1: none by default; the named origins only; the preflight needs no credentials. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const APP = 'https://app.example.com'
const preflight = (origin: string) =>
  fetch(`${f!.base}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-stainless-os',
    },
  })

describe('CORS', () => {
  it('answers the preflight of an allowed origin without authentication, and marks its answers', async () => {
    f = await startProxyFixture({ config: { cors: { origins: [APP] } } })
    const response = await preflight(APP)
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    const answer = await f.fetch('cors-user', '/v1/chat/completions', {
      method: 'POST',
      headers: { origin: APP },
      json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP)
    expect(answer.headers.get('access-control-expose-headers')).toContain('x-request-id')
    expect(answer.headers.get('vary')).toContain('Origin')
  })

  it('says nothing to an origin it does not name, and nothing to anyone by default', async () => {
    f = await startProxyFixture({ config: { cors: { origins: [APP] } } })
    const stranger = await preflight('https://evil.example.com')
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
    await f.close()
    f = await startProxyFixture()
    const none = await preflight(APP)
    expect(none.headers.get('access-control-allow-origin')).toBeNull()
    // Without CORS the preflight is an unauthenticated request like any other.
    expect(none.status).toBe(401)
  })

  it('refuses a configuration that allows credentials with the wildcard origin', () => {
    expect(() =>
      loadConfig({
        file: { ...fileConfig, cors: { origins: ['*'], credentials: true } },
        env: { JWT_SECRET: 'x'.repeat(40) },
      }),
    ).toThrow(/cors: credentials are never allowed with the '\*' origin/)
  })
})
