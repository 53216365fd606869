import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Headers cross the proxy by allow-list, both ways (docs/access.md): the client
 * cannot choose the operator's organization or project, nor tell the upstream
 * who or where it is; the operator's account headers never reach the client.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

/** Everything a client (or a reverse proxy in front of the gateway) might add. */
const CLIENT_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json',
  'openai-organization': 'org-chosen-by-client',
  'openai-project': 'proj-chosen-by-client',
  'openai-beta': 'assistants=v2',
  forwarded: 'for=203.0.113.9;host=victim.example;proto=https',
  'x-forwarded-host': 'victim.example',
  'x-forwarded-for': '203.0.113.9',
  'x-forwarded-proto': 'https',
  'x-real-ip': '203.0.113.9',
  cookie: 'session=client-cookie',
  'x-api-key': 'client-key',
  'x-stainless-os': 'Linux',
  'user-agent': 'client-agent/1.0',
  'x-chat-id': 'chat-1',
}

/** What undici adds to carry the request, whatever the gateway decides. */
const TRANSPORT = new Set(['host', 'content-length', 'connection', 'transfer-encoding'])

/** The account headers OpenAI answers with, plus a CDN's. */
const ACCOUNT_HEADERS = {
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-limit-tokens': '30000000',
  'x-ratelimit-remaining-tokens': '29999990',
  'x-ratelimit-reset-requests': '6ms',
  'openai-organization': 'org-of-the-operator',
  'openai-project': 'proj_of_the_operator',
  'set-cookie': '__cf_bm=abc; path=/; HttpOnly',
  'cf-ray': '8f00000000000000-ARN',
  'openai-processing-ms': '120',
}

function sentUpstream() {
  const headers = f!.upstream.requests.at(-1)!.headers
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSPORT.has(name)))
}

async function chat(user: string, body: object) {
  return f!.fetch(user, '/v1/chat/completions', {
    method: 'POST',
    headers: CLIENT_HEADERS,
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body }),
  })
}

function expectNoAccountHeaders(response: Response) {
  const names = [...response.headers.keys()]
  for (const name of Object.keys(ACCOUNT_HEADERS)) {
    if (name === 'openai-processing-ms') continue
    expect(names, `${name} reached the client`).not.toContain(name)
  }
  expect(names.filter((n) => n.startsWith('x-ratelimit'))).toEqual([])
}

describe(`headers across the proxy (${TEST_DIALECT})`, () => {
  it('upstream gets content-type, accept and the operator key only; no client header chooses or reveals anything', async () => {
    f = await startProxyFixture()
    for (const stream of [false, true]) {
      const response = await chat('plain', { stream })
      expect(response.status, await response.text()).toBe(200)
      expect(sentUpstream(), `stream ${stream}`).toEqual({
        'content-type': 'application/json',
        accept: 'application/json',
        'accept-encoding': 'identity',
        authorization: `Bearer ${UPSTREAM_KEY}`,
      })
    }
  })

  it('the client sees no account header of the upstream, and does see x-request-id and x-quota-*', async () => {
    f = await startProxyFixture()
    f.upstream.behave({ headers: ACCOUNT_HEADERS })
    for (const stream of [false, true]) {
      const response = await chat('watcher', { stream })
      await response.text()
      expect(response.status).toBe(200)
      expectNoAccountHeaders(response)
      const requestId = response.headers.get('x-request-id')
      expect(requestId).toMatch(/\S/)
      expect(requestId).not.toMatch(/^upstream-/)
      expect(response.headers.get('x-upstream-request-id')).toMatch(/^upstream-/)
      expect(response.headers.get('openai-processing-ms')).toBe('120')
      expect(response.headers.get('x-quota-remaining-requests')).toMatch(/^\d+$/)
      expect(response.headers.get('x-quota-reset')).toMatch(/^\d+$/)
    }
    // An upstream 4xx passes through with its body, not with the account's headers.
    f.upstream.once({ status: 400, headers: ACCOUNT_HEADERS })
    const refused = await chat('watcher', {})
    await refused.text()
    expect(refused.status).toBe(400)
    expectNoAccountHeaders(refused)
  })

  it("passes the client headers the operator allowed for that upstream; the operator's configured ones win", async () => {
    f = await startProxyFixture({
      config: {
        upstreams: [
          {
            name: 'default',
            baseUrl: 'https://api.openai.com/v1',
            apiKeyEnv: 'UPSTREAM_API_KEY',
            forwardClientHeaders: ['OpenAI-Beta', 'OpenAI-Organization'],
            headers: { 'OpenAI-Organization': 'org-of-the-operator' },
          },
        ],
      },
    })
    const response = await chat('beta', {})
    expect(response.status, await response.text()).toBe(200)
    expect(sentUpstream()).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      'openai-beta': 'assistants=v2',
      'openai-organization': 'org-of-the-operator',
      'accept-encoding': 'identity',
      authorization: `Bearer ${UPSTREAM_KEY}`,
    })
  })

  it('refuses at start a config that would forward credentials, cookies or the client address', () => {
    const load = (upstream: object) =>
      loadConfig({
        file: {
          upstreams: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', ...upstream }],
        },
        env: {},
      })
    for (const name of ['Authorization', 'cookie', 'x-forwarded-host', 'forwarded', 'bad name']) {
      expect(() => load({ forwardClientHeaders: [name] }), name).toThrow(/forwardClientHeaders/)
      expect(() => load({ headers: { [name]: 'x' } }), name).toThrow(/headers/)
    }
    expect(() => load({ headers: { 'x-a': 'one\r\nx-b: two' } })).toThrow(/headers\.x-a/)
    const ok = load({ forwardClientHeaders: ['OpenAI-Beta'], headers: { 'OpenAI-Project': 'p' } })
    expect(ok.config.upstreams[0]).toMatchObject({
      forwardClientHeaders: ['openai-beta'],
      headers: { 'openai-project': 'p' },
    })
  })
})
