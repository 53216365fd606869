import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { ACCOUNT_HEADERS } from '../helpers/fake-anthropic.ts'

/**
 * The Anthropic surface refuses in Anthropic's envelope
 * ({"type":"error","error":{"type","message"},"request_id"}) with the right
 * status and type, which the SDK and Claude Code read; a quota refusal is a
 * rate_limit_error naming the plan's limit that the SDK does not retry. The
 * upstream's own error bodies pass through as they came. Headers cross by
 * allow-list both ways.
 */
let f: AnthropicFixture
beforeAll(async () => {
  // The plan's Claude models: Sonnet and Haiku, not Opus.
  f = await startAnthropicFixture({
    config: { features: { claude_access: ['claude-sonnet-*', 'claude-haiku-*'] } },
  })
})
afterAll(async () => {
  await f?.close()
})

const MESSAGE = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hi' }],
}

async function post(user: string, body: unknown, init: RequestInit = {}, path = '/v1/messages') {
  const response = await f.fetch(user, path, {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return { response, text, json: JSON.parse(text) }
}

function expectAnthropicError(
  result: { response: Response; text: string; json: unknown },
  status: number,
  type: string,
) {
  expect(result.response.status, result.text).toBe(status)
  expect(result.json, result.text).toEqual({
    type: 'error',
    error: { type, message: expect.any(String) },
    request_id: result.response.headers.get('x-request-id'),
  })
}

describe('the gateway’s refusals, in Anthropic’s shape', () => {
  it('429 when the quota is spent: rate_limit_error naming the limit, retry-after, x-should-retry false; the SDK tries once', async () => {
    const spent = await startAnthropicFixture({
      plan: { quotas: { requests: 1, tokens_input: 1_000_000, tokens_output: 1_000_000 } },
    })
    try {
      const client = await spent.sdk('quota-user', { maxRetries: 3 })
      await client.messages.create(MESSAGE as never)
      const error = await client.messages.create(MESSAGE as never).catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.RateLimitError)
      expect(error.status).toBe(429)
      expect(error.error).toMatchObject({
        type: 'error',
        error: { type: 'rate_limit_error', message: expect.stringMatching(/requests.*1 of 1/) },
      })
      expect(error.headers.get('x-should-retry')).toBe('false')
      expect(Number(error.headers.get('retry-after'))).toBeGreaterThan(0)
      // One attempt for the refusal (x-should-retry: false), and nothing of it upstream.
      expect(spent.anthropic.requests.length).toBe(1)
      const ledger = await spent.ledger('quota-user')
      expect(ledger.used.requests).toBe(1)
    } finally {
      await spent.close()
    }
  })

  it('401 authentication_error: no key, and a key that is not the gateway’s', async () => {
    const none = await fetch(`${f.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(MESSAGE),
    })
    const noneText = await none.text()
    expectAnthropicError(
      { response: none, text: noneText, json: JSON.parse(noneText) },
      401,
      'authentication_error',
    )
    const wrong = await fetch(`${f.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-api03-not-ours' },
      body: JSON.stringify(MESSAGE),
    })
    const wrongText = await wrong.text()
    expectAnthropicError(
      { response: wrong, text: wrongText, json: JSON.parse(wrongText) },
      401,
      'authentication_error',
    )
    expect(f.anthropic.requests.length).toBe(0)
  })

  it('403 permission_error for a model outside the plan; nothing sent upstream', async () => {
    const result = await post('model-user', { ...MESSAGE, model: 'claude-opus-4-8' })
    expectAnthropicError(result, 403, 'permission_error')
    expect(result.json.error.message).toContain('claude-opus-4-8')
    expect(f.anthropic.requests.length).toBe(0)
  })

  it('400 invalid_request_error: malformed JSON, a bad field, another dialect’s model', async () => {
    expectAnthropicError(
      await post('bad-user', '{"model": "claude-sonnet-4-6",'),
      400,
      'invalid_request_error',
    )
    const bad = await post('bad-user', { ...MESSAGE, messages: 'Hi' })
    expectAnthropicError(bad, 400, 'invalid_request_error')
    expect(bad.json.error.message).toContain('messages')
    const thinking = await post('bad-user', {
      ...MESSAGE,
      thinking: { type: 'enabled', budget_tokens: -5 },
    })
    expectAnthropicError(thinking, 400, 'invalid_request_error')
    const openaiModel = await post('bad-user', { ...MESSAGE, model: 'gpt-4o-mini' })
    expectAnthropicError(openaiModel, 400, 'invalid_request_error')
    expect(f.anthropic.requests.length).toBe(0)
    expect((await f.ledger('bad-user')).used.requests).toBe(0)
  })

  it('server tools need the plan’s feature (403); client tools, typed or not, do not', async () => {
    const search = await post('tools-user', {
      ...MESSAGE,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 8 }],
    })
    expectAnthropicError(search, 403, 'permission_error')
    expect(search.json.error.message).toContain("'web_search'")
    expect(f.anthropic.requests.length).toBe(0)
    f.anthropic.once({})
    const client = await post('tools-user', {
      ...MESSAGE,
      tools: [
        { type: 'bash_20250124', name: 'bash' },
        { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
        { name: 'Read', input_schema: { type: 'object' } },
        { type: 'custom', name: 'Grep', input_schema: { type: 'object' } },
      ],
    })
    expect(client.response.status, client.text).toBe(200)
  })

  it('a claude model on the OpenAI routes: 400 in OpenAI’s envelope', async () => {
    const response = await f.fetch('dialect-user', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'Hi' }] },
    })
    const body = (await response.json()) as {
      error: { code: string; param: string; message: string }
    }
    expect(response.status).toBe(400)
    expect(body.error).toMatchObject({ code: 'invalid_request', param: 'model' })
    expect(body.error.message).toContain('/v1/messages')
  })

  it('404 not_found_error for an unknown path under /v1/messages', async () => {
    expectAnthropicError(
      await post('path-user', MESSAGE, {}, '/v1/messages/batches'),
      404,
      'not_found_error',
    )
  })
})

describe('the upstream’s errors', () => {
  it('a 400 passes through verbatim (Claude Code matches its wording), released', async () => {
    const errorBody = {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: 'prompt is too long: 210000 tokens > 200000 maximum',
      },
      request_id: 'req_upstream',
    }
    f.anthropic.once({ status: 400, errorBody })
    const result = await post('upstream-400-user', MESSAGE)
    expect(result.response.status).toBe(400)
    expect(result.json).toEqual(errorBody)
    const ledger = await f.ledger('upstream-400-user')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(0)
    expect(ledger.reservations).toBe(0)
  })

  it("the operator's empty account (a 400 at Anthropic) is never the payer's: 503 api_error, no upstream text, released", async () => {
    const errorBody = {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message:
          'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      },
      request_id: 'req_upstream',
    }
    f.anthropic.once({ status: 400, errorBody })
    const result = await post('upstream-credit-user', MESSAGE)
    expectAnthropicError(result, 503, 'api_error')
    expect(JSON.stringify(result.json)).not.toMatch(/credit balance|Plans & Billing|req_upstream/)
    const ledger = await f.ledger('upstream-credit-user')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(0)
    expect(ledger.reservations).toBe(0)
  })

  it('a 529 overload becomes 502 api_error (its body may describe the account), released', async () => {
    f.anthropic.once({ status: 529 })
    const result = await post('upstream-529-user', MESSAGE)
    expectAnthropicError(result, 502, 'api_error')
    expect((await f.ledger('upstream-529-user')).used.requests).toBe(0)
  })

  it('an error event mid-stream reaches the SDK; the input and what was delivered are billed', async () => {
    f.anthropic.once({
      blocks: [{ type: 'text', text: 'one two three four five six seven eight' }],
      deltasPerBlock: 4,
      errorAfterDeltas: 2,
      usage: { input: 25, cacheRead: 100, output: 50 },
    })
    const client = await f.sdk('midstream-user')
    const error = await client.messages
      .stream(MESSAGE as never)
      .finalMessage()
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(String(error.message)).toContain('Overloaded')
    const ledger = await f.settled('midstream-user')
    expect(ledger.used.requests).toBe(1)
    expect(ledger.used.tokens_input).toBe(125)
    // message_start said 1: the two delivered deltas count more.
    expect(ledger.used.tokens_output).toBeGreaterThan(1)
  })
})

describe('the upstream failing mid-stream', () => {
  it('a reset after the first deltas ends the stream with Anthropic’s error event, which the SDK raises; delivered output billed', async () => {
    f.anthropic.once({
      blocks: [{ type: 'text', text: 'one two three four five six seven eight' }],
      deltasPerBlock: 4,
      resetAfterDeltas: 2,
      usage: { input: 25, output: 50 },
    })
    const response = await f.fetch('reset-user', '/v1/messages', {
      method: 'POST',
      json: { ...MESSAGE, stream: true },
    })
    const text = await response.text()
    const last = text.trimEnd().split('\n\n').at(-1)!
    expect(last, text).toMatch(/^event: error\ndata: /)
    expect(JSON.parse(last.split('data: ')[1]!)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream connection failed' },
    })
    f.anthropic.once({
      blocks: [{ type: 'text', text: 'one two three four' }],
      resetAfterDeltas: 1,
    })
    const client = await f.sdk('reset-user')
    const error = await client.messages
      .stream(MESSAGE as never)
      .finalMessage()
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(String(error.message)).toContain('The upstream connection failed')
    const ledger = await f.settled('reset-user')
    expect(ledger.used.requests).toBe(2)
    expect(ledger.used.tokens_input).toBe(25 + 12)
    expect(ledger.used.tokens_output).toBeGreaterThan(2)
  })
})

describe('headers, by allow-list both ways', () => {
  it('anthropic-version and anthropic-beta go as sent; the client’s key, cookies, addresses and SDK noise do not', async () => {
    const beta = 'claude-code-20250219,interleaved-thinking-2025-05-14,some-future-beta-2027-01-01'
    await post('headers-user', MESSAGE, {
      headers: {
        'anthropic-version': '2026-10-21',
        'anthropic-beta': beta,
        'anthropic-dangerous-direct-browser-access': 'true',
        'x-claude-code-session-id': 'session-1',
        'x-stainless-os': 'Linux',
        'user-agent': 'claude-cli/2.1.300 (external, cli)',
        cookie: 'session=client-cookie',
        origin: 'https://evil.example',
        'x-forwarded-for': '203.0.113.9',
      },
    })
    const sent = f.anthropic.requests.at(-1)!.headers
    const names = Object.keys(sent).filter(
      (n) => !['host', 'content-length', 'connection', 'transfer-encoding'].includes(n),
    )
    expect(names.sort(), JSON.stringify(sent)).toEqual(
      [
        'accept',
        'accept-encoding',
        'anthropic-beta',
        'anthropic-version',
        'content-type',
        'x-api-key',
      ].sort(),
    )
    expect(sent['anthropic-beta']).toBe(beta)
    expect(sent['anthropic-version']).toBe('2026-10-21')
  })

  it('the account headers (request-id, organization, workspace, rate limits, CDN) never reach the client, JSON or stream', async () => {
    for (const stream of [false, true]) {
      const response = await f.fetch('answer-headers-user', '/v1/messages', {
        method: 'POST',
        json: { ...MESSAGE, stream },
      })
      await response.text()
      expect(response.status).toBe(200)
      for (const name of Object.keys(ACCOUNT_HEADERS)) {
        expect(response.headers.get(name), `${name} (stream ${stream})`).toBeNull()
      }
      expect(response.headers.get('x-request-id')).toBeTruthy()
      expect(response.headers.get('content-type')).toContain(
        stream ? 'text/event-stream' : 'application/json',
      )
    }
  })
})
