import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/** Request bodies the gateway must refuse before reserving, and the in-process path (no socket). */
let f: ProxyFixture
beforeAll(async () => {
  f = await startProxyFixture({ config: { server: { bodyLimitBytes: 2000 } } })
})
afterAll(async () => {
  await f?.close()
})

const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }

async function refused(userId: string, body: string, headers: Record<string, string> = {}) {
  const response = await f.fetch(userId, '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const json = (await response.json()) as ErrorBody
  const ledger = await f.ledger(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual(nothing)
  expect(ledger.reserved).toEqual(nothing)
  return { status: response.status, error: json.error }
}

describe('bodies refused before anything is reserved', () => {
  it('malformed JSON is a 400 invalid_json', async () => {
    expect(await refused('u-bad-json', '{"model": "gpt-4o",')).toMatchObject({
      status: 400,
      error: { code: 'invalid_json' },
    })
  })

  it('a body without a model is a 400 naming the field', async () => {
    expect(await refused('u-no-model', '{"messages": []}')).toMatchObject({
      status: 400,
      error: { code: 'validation_failed', param: 'model' },
    })
  })

  it('a body over the limit is a 413, declared or streamed', async () => {
    const big = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x'.repeat(3000) }],
    })
    expect(await refused('u-big', big)).toMatchObject({
      status: 413,
      error: { code: 'payload_too_large' },
    })
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const response = await f.fetch('u-big', '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit)
    expect(response.status, await response.text()).toBe(413)
    expect(f.upstream.requests.length).toBe(0)
  })
})

describe('in-process requests (app.request, no socket)', () => {
  it('are proxied and billed the same way', async () => {
    f.upstream.once({ usage: { input: 9, output: 4 } })
    const token = await f.token('u-in-process')
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    })
    const response = await f.h.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    })
    expect(response.status, await response.clone().text()).toBe(200)
    expect(f.upstream.requests.at(-1)!.rawBody).toBe(body)
    expect((await f.ledger('u-in-process')).used).toEqual({
      requests: 1,
      tokens_input: 9,
      tokens_output: 4,
    })
  })
})
