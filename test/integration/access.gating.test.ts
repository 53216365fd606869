import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import shipped from '../../gateway.config.ts'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Model access is granted, never assumed (docs/access.md), tried as a user
 * would, on the shipped gateway.config.ts's free plan: every trick is refused
 * before anything is reserved, and nothing reaches the upstream.
 */
let f: ProxyFixture
beforeEach(async () => {
  f = await startProxyFixture({
    config: { plans: shipped.plans, billing: { defaultPlanId: 'free' } },
  })
})
afterEach(() => f.close())

const zero = { requests: 0, tokens_input: 0, tokens_output: 0 }

async function send(user: string, body: string) {
  const response = await f.fetch(user, '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) as ErrorBody }
}

const chat = (model: string) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] })

async function expectNothingHappened(user: string) {
  expect(f.upstream.requests).toEqual([])
  const ledger = await f.ledger(user)
  expect(ledger.reservations).toBe(0)
  expect(ledger.used).toEqual(zero)
  expect(ledger.reserved).toEqual(zero)
}

describe(`model gating on the shipped free plan (${TEST_DIALECT})`, () => {
  it('a model no feature of the plan grants is 403 model_not_allowed, whatever its spelling', async () => {
    for (const model of [
      'gpt-5',
      'chatgpt-4o-latest',
      'ft:gpt-4o-mini:acme::abc123',
      'openai/gpt-4o',
      'anthropic/claude-3-opus',
      'gpt-4o-mini-search-preview',
      'llama-3',
    ]) {
      const res = await send('tricky', chat(model))
      expect(res.status, `${model}: ${res.text}`).toBe(403)
      expect(res.body.error, model).toMatchObject({
        code: 'model_not_allowed',
        type: 'permission_error',
        param: 'model',
      })
    }
    await expectNothingHappened('tricky')
  })

  it('a model name with spaces, controls or look-alike characters is 400 naming model', async () => {
    for (const model of [
      ' gpt-4o',
      '\tgpt-4o',
      'gpt-4o-mini ',
      'gpt-4o-mini\n',
      'g\u0440t-4o-mini', // Cyrillic р
      'gpt-4o-mini\u200b', // zero-width space
      'gpt\u20114o-mini', // non-breaking hyphen
      '',
    ]) {
      const res = await send('spaced', chat(model))
      expect(res.status, `${JSON.stringify(model)}: ${res.text}`).toBe(400)
      expect(res.body.error, JSON.stringify(model)).toMatchObject({
        type: 'invalid_request_error',
        param: 'model',
      })
    }
    await expectNothingHappened('spaced')
  })

  it('a body with the model key twice is 400, in either order, and so is one that is not UTF-8', async () => {
    const messages = '"messages":[{"role":"user","content":"hi"}]'
    for (const body of [
      `{"model":"gpt-3.5-turbo","model":"gpt-4o",${messages}}`,
      `{"model":"gpt-4o","model":"gpt-3.5-turbo",${messages}}`,
      `{"model" : "gpt-3.5-turbo", ${messages}, "mod\\u0065l":"gpt-4o"}`,
    ]) {
      const res = await send('twice', body)
      expect(res.status, `${body}: ${res.text}`).toBe(400)
      expect(res.body.error, body).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'model',
      })
    }
    // Bytes that are not UTF-8: an overlong `"` (0xC0 0xA2) decodes to U+FFFD here, but a lax
    // upstream decoder could read a second "model" key out of them.
    const smuggled = Buffer.concat([
      Buffer.from('{"model":"gpt-3.5-turbo","x":"'),
      Buffer.from([0xc0, 0xa2, 0x2c, 0xc0, 0xa2]),
      Buffer.from('model'),
      Buffer.from([0xc0, 0xa2, 0x3a, 0xc0, 0xa2]),
      Buffer.from('gpt-4o"}'),
    ])
    const bytes = await f.fetch('twice', '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: smuggled,
    })
    expect(bytes.status, await bytes.text()).toBe(400)
    await expectNothingHappened('twice')
  })

  it('matches case-insensitively and forwards exactly the name it checked', async () => {
    const bodies = [chat('GPT-3.5-TURBO'), chat('GPT-4o-Mini')]
    for (const body of bodies) {
      const res = await send('upper', body)
      expect(res.status, res.text).toBe(200)
    }
    expect(f.upstream.requests.map((r) => r.rawBody)).toEqual(bodies)
    expect((await f.ledger('upper')).used.requests).toBe(2)
  })

  it("the README's first try works: an API key of the admin, gpt-4o-mini on the free plan", async () => {
    const admin = await f.h.adminToken()
    const created = await fetch(`${f.base}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first try' }),
    })
    const { key } = (await created.json()) as { key: string }
    expect(created.status).toBe(201)
    const res = await fetch(`${f.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}',
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(JSON.parse(text).choices).toHaveLength(1)
  })

  it('/v1/models lists only what the free plan is granted', async () => {
    f.upstream.setModels([
      'gpt-4o-mini',
      'gpt-4o-mini-2024-07-18',
      'gpt-4o-mini-search-preview',
      'gpt-4o',
      'gpt-3.5-turbo',
      'gpt-5',
      'chatgpt-4o-latest',
      'text-embedding-3-small',
      'llama-3',
    ])
    const res = await f.fetch('lister', '/v1/models')
    const body = (await res.json()) as { data: Array<{ id: string }> }
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.data.map((m) => m.id)).toEqual([
      'gpt-4o-mini',
      'gpt-4o-mini-2024-07-18',
      'gpt-3.5-turbo',
      'text-embedding-3-small',
    ])
  })
})
