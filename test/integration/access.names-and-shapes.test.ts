import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import shipped from '../../gateway.config.ts'
import type { ErrorBody } from '../../src/http/errors.ts'
import { call } from '../helpers/billing.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Names and shapes tried as an attacker would, on the shipped plans: a model
 * name that rides on a granted one, a model the plan does not price, a field
 * of the wrong JSON type. Each is refused before anything is reserved, and
 * nothing reaches the upstream (docs/security.md, "Model names and field types").
 */
let f: ProxyFixture
beforeEach(async () => {
  f = await startProxyFixture({
    config: { plans: shipped.plans, billing: { defaultPlanId: 'free' } },
  })
})
afterEach(() => f.close())

const zero = { requests: 0, tokens_input: 0, tokens_output: 0 }
const hi = [{ role: 'user', content: 'hi' }]

async function send(user: string, path: string, body: unknown) {
  const response = await f.fetch(user, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) as ErrorBody }
}

async function expectNothingHappened(user: string) {
  expect(f.upstream.requests).toEqual([])
  const ledger = await f.ledger(user)
  expect(ledger.reservations).toBe(0)
  expect(ledger.used).toEqual(zero)
  expect(ledger.reserved).toEqual(zero)
}

/** An admin grants the shipped Pro plan (the user starts on Free). */
async function onPro(user: string) {
  const res = await call(
    f.h,
    'POST',
    '/api/v1/billing/admin/subscriptions',
    { user_id: user, plan_id: 'pro', periods: 1 },
    await f.h.adminToken(),
  )
  expect(res.status, res.text).toBe(201)
}

describe(`model names that ride on a granted one (${TEST_DIALECT})`, () => {
  it('a path step is 400 naming model; a separator or a suffix past the pattern is 403', async () => {
    for (const model of ['gpt-3.5-turbo/../gpt-4o', 'gpt-3.5-turbo/./gpt-4o', 'gpt-4o-mini..x']) {
      const res = await send('rider', '/v1/chat/completions', { model, messages: hi })
      expect(res.status, `${model}: ${res.text}`).toBe(400)
      expect(res.body.error, model).toMatchObject({ type: 'invalid_request_error', param: 'model' })
    }
    for (const model of [
      'gpt-3.5-turbo:gpt-4o',
      'gpt-3.5-turbo@gpt-4o',
      'gpt-3.5-turbo/gpt-4o',
      'gpt-4o-mini-2099-search',
      'gpt-4o-mini-2024-07-18-search',
    ]) {
      const res = await send('rider', '/v1/chat/completions', { model, messages: hi })
      expect(res.status, `${model}: ${res.text}`).toBe(403)
      expect(res.body.error, model).toMatchObject({ code: 'model_not_allowed', param: 'model' })
    }
    await expectNothingHappened('rider')
  })

  it('Pro is refused the models priced beyond tokens, and served its text models', async () => {
    await onPro('pro-user')
    for (const model of [
      'gpt-4o-search-preview',
      'gpt-4o-audio-preview',
      'gpt-4o-realtime-preview',
      'gpt-4o-transcribe',
      'gpt-4o-mini-tts',
      'o1-pro',
      'o3-deep-research',
    ]) {
      const res = await send('pro-user', '/v1/chat/completions', { model, messages: hi })
      expect(res.status, `${model}: ${res.text}`).toBe(403)
      expect(res.body.error, model).toMatchObject({ code: 'model_not_allowed', param: 'model' })
    }
    await expectNothingHappened('pro-user')
    const served = ['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4.1', 'gpt-4-turbo', 'o3-mini']
    for (const model of served) {
      const res = await send('pro-user', '/v1/chat/completions', { model, messages: hi })
      expect(res.status, `${model}: ${res.text}`).toBe(200)
    }
    expect(f.upstream.requests.map((r) => JSON.parse(r.rawBody).model)).toEqual(served)
  })
})

describe(`fields of the wrong JSON type (${TEST_DIALECT})`, () => {
  it('are 400 naming the field before anything is reserved, on every endpoint', async () => {
    await onPro('typed')
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['/v1/responses', { model: 'gpt-4o', input: 'hi', background: 'true' }, 'background'],
      ['/v1/responses', { model: 'gpt-4o', input: 'hi', background: 1 }, 'background'],
      [
        '/v1/chat/completions',
        { model: 'gpt-4o', messages: hi, tools: { 0: { type: 'web_search_preview' } } },
        'tools',
      ],
      [
        '/v1/completions',
        { model: 'gpt-3.5-turbo-instruct', prompt: 'hi', best_of: '20' },
        'best_of',
      ],
      ['/v1/chat/completions', { model: 'gpt-4o', messages: hi, n: '5' }, 'n'],
      ['/v1/chat/completions', { model: 'gpt-4o', messages: hi, stream: 'yes' }, 'stream'],
      ['/v1/chat/completions', { model: 'gpt-4o', messages: hi, max_tokens: '9999' }, 'max_tokens'],
      [
        '/v1/chat/completions',
        { model: 'gpt-4o', messages: hi, service_tier: ['priority'] },
        'service_tier',
      ],
      [
        '/v1/responses',
        { model: 'gpt-4o', input: 'hi', previous_response_id: 7 },
        'previous_response_id',
      ],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: { text: 'hi' } }, 'input'],
      ['/v1/chat/completions', { model: 'gpt-4o', messages: { role: 'user' } }, 'messages'],
    ]
    for (const [path, body, param] of cases) {
      const res = await send('typed', path, body)
      const label = `${path} ${JSON.stringify(body)}: ${res.text}`
      expect(res.status, label).toBe(400)
      expect(res.body.error, label).toMatchObject({ type: 'invalid_request_error', param })
    }
    await expectNothingHappened('typed')
  })
})
