import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { estimateInputTokens } from '../../src/pipeline/estimate/estimate.ts'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'

/**
 * Outcomes: only 2xx answers are billed, every reservation ends exactly once,
 * and what a stream delivered before it broke is billed (counted, estimated).
 */
let f: ProxyFixture
beforeAll(async () => {
  f = await startProxyFixture({
    config: {
      // UPSTREAM_BASE_URL (the fake) replaces this base URL; short timeouts make the tests quick.
      upstreams: [
        {
          name: 'default',
          baseUrl: 'http://127.0.0.1:9/v1',
          headersTimeoutMs: 300,
          bodyTimeoutMs: 300,
        },
      ],
    },
  })
})
afterAll(async () => {
  await f?.close()
})

const zero = { requests: 0, tokens_input: 0, tokens_output: 0 }
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello there' }] }
const estimate = estimateInputTokens('chat', chat.model, chat)
const post = (userId: string, json: unknown = chat) =>
  f.fetch(userId, '/v1/chat/completions', { method: 'POST', json })

async function expectNothingBilled(userId: string) {
  const ledger = await f.settled(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual(zero)
  expect(ledger.reserved).toEqual(zero)
  expect(ledger.reservations).toBe(0)
}

/** Billed: the prompt estimate plus `output` counted tokens, marked estimated, nothing left reserved. */
async function expectCounted(userId: string, output: number) {
  const ledger = await f.settled(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual({
    requests: 1,
    tokens_input: estimate,
    tokens_output: output,
  })
  expect(ledger.reserved).toEqual(zero)
  expect(ledger.usage.filter((u) => u.metric !== 'requests').every((u) => u.estimated === 1)).toBe(
    true,
  )
}

describe('upstream errors before the answer', () => {
  it('a 4xx passes through unchanged and releases the reservation', async () => {
    const errorBody = {
      error: {
        message: 'messages is bad',
        type: 'invalid_request_error',
        param: 'messages',
        code: 'bad',
      },
    }
    f.upstream.once({ status: 400, errorBody })
    const response = await post('u-400')
    const text = await response.text()
    expect(response.status, text).toBe(400)
    expect(text).toBe(JSON.stringify(errorBody))
    expect(response.headers.get('openai-organization')).toBeNull()
    expect(response.headers.get('x-request-id')).toBeTruthy()
    await expectNothingBilled('u-400')
  })

  it('a 5xx becomes a 502 in the envelope, without the upstream body', async () => {
    f.upstream.once({ status: 503, errorBody: { error: { message: 'org-secret overloaded' } } })
    const response = await post('u-503')
    const body = (await response.json()) as ErrorBody
    expect(response.status, JSON.stringify(body)).toBe(502)
    expect(body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' })
    expect(JSON.stringify(body)).not.toContain('org-secret')
    await expectNothingBilled('u-503')
  })

  it("a 401 (the gateway's own key refused) is a 503 upstream_unavailable, never the user's 401", async () => {
    f.upstream.once({
      status: 401,
      errorBody: {
        error: { message: `Incorrect API key provided: ${UPSTREAM_KEY.slice(0, 8)}***` },
      },
    })
    const response = await post('u-401')
    const text = await response.text()
    expect(response.status, text).toBe(503)
    expect(JSON.parse(text).error.code, text).toBe('upstream_unavailable')
    expect(text).not.toContain(UPSTREAM_KEY.slice(0, 8))
    await expectNothingBilled('u-401')
  })

  it('an upstream that never answers is a 504 after the headers timeout', async () => {
    f.upstream.once({ hang: true })
    const response = await post('u-timeout')
    const body = (await response.json()) as ErrorBody
    expect(response.status, JSON.stringify(body)).toBe(504)
    expect(body.error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' })
    await expectNothingBilled('u-timeout')
  })

  it('a connection reset before the answer is a 502', async () => {
    f.upstream.once({ reset: true })
    const response = await post('u-reset', { ...chat, stream: true })
    const body = (await response.json()) as ErrorBody
    expect(response.status, JSON.stringify(body)).toBe(502)
    expect(body.error.code).toBe('upstream_error')
    await expectNothingBilled('u-reset')
  })
})

describe('failures after the stream began', () => {
  const streamChat = { ...chat, stream: true as const }

  it('a reset mid-stream ends with an error event; the delivered output is billed', async () => {
    f.upstream.once({ resetAfterChunks: 1, chunks: 3 })
    const client = await f.client('u-midreset', { maxRetries: 0 })
    const stream = await client.chat.completions.create(streamChat)
    let text = ''
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      code: 'upstream_error',
    })
    expect(text).toBe('Hello from')
    await expectCounted('u-midreset', countTokens('Hello from'))
  })

  it("a Responses stream broken mid-way ends with the API's error event, its sequence_number next in line", async () => {
    f.upstream.once({ resetAfterChunks: 2, chunks: 4 })
    const response = await f.fetch('u-responses-reset', '/v1/responses', {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'Hello there', stream: true },
    })
    const text = await response.text()
    expect(response.status, text).toBe(200)
    const events = text.trimEnd().split('\n\n')
    const data = (event: string) => JSON.parse(event.slice(event.indexOf('data: ') + 6))
    const last = events.at(-1)!
    expect(last.startsWith('event: error\ndata: '), text).toBe(true)
    const before = data(events.at(-2)!)
    // The shape the AI SDK's zod schema and the openai SDK's ResponseErrorEvent expect.
    expect(data(last), text).toMatchObject({
      type: 'error',
      sequence_number: before.sequence_number + 1,
      code: 'upstream_error',
      message: expect.any(String),
      param: null,
    })
    expect(before.type).toBe('response.output_text.delta')
    await f.settled('u-responses-reset')
  })

  it("a chat stream broken mid-way ends with OpenAI's error object as a data event", async () => {
    f.upstream.once({ resetAfterChunks: 1, chunks: 3 })
    const text = await (await post('u-chat-reset-raw', { ...chat, stream: true })).text()
    const last = text.trimEnd().split('\n\n').at(-1)!
    expect(last.startsWith('data: '), text).toBe(true)
    expect(JSON.parse(last.slice(6)), text).toEqual({
      error: {
        message: expect.any(String),
        type: 'upstream_error',
        code: 'upstream_error',
        param: null,
      },
    })
    await f.settled('u-chat-reset-raw')
  })

  it('a stall mid-stream ends with an upstream_timeout event after the body timeout', async () => {
    f.upstream.once({ hangAfterChunks: 1 })
    const response = await post('u-stall', streamChat)
    const text = await response.text()
    expect(response.status).toBe(200)
    expect(text.trimEnd().split('\n\n').at(-1), text).toMatch(
      /^data: \{"error":\{.*"code":"upstream_timeout"/,
    )
    await expectCounted('u-stall', countTokens('Hello from'))
  })
})

describe('usage the gateway cannot trust', () => {
  it('no usage at all: the output is counted with the tokenizer and marked estimated', async () => {
    f.upstream.once({ omitUsage: true })
    expect((await post('u-nousage')).status).toBe(200)
    await expectCounted('u-nousage', countTokens(DEFAULT_TEXT))

    f.upstream.once({ omitUsage: true })
    const stream = await post('u-nousage-stream', { ...chat, stream: true })
    expect(await stream.text()).toContain('[DONE]')
    await expectCounted('u-nousage-stream', countTokens(DEFAULT_TEXT))
  })

  it('negative or absurd usage is refused, logged and never credited', async () => {
    for (const [user, rawUsage] of [
      ['u-negative', { prompt_tokens: -5, completion_tokens: 3 }],
      ['u-absurd', { prompt_tokens: 10, completion_tokens: 20_000_000_000 }],
      ['u-fraction', { prompt_tokens: 1.5, completion_tokens: 3 }],
    ] as const) {
      f.upstream.once({ rawUsage })
      const response = await post(user)
      expect(response.status, await response.text()).toBe(200)
      await expectCounted(user, countTokens(DEFAULT_TEXT))
      const warned = f.h.logs.filter(
        (l) => l.userId === user && String(l.msg).startsWith('Refused invalid usage'),
      )
      expect(warned.length, f.h.logText().slice(-2000)).toBe(1)
    }
  })
})

describe('logs', () => {
  it('one line per billed request in the agreed form, and never the upstream key or the user token', async () => {
    f.upstream.once({ usage: { input: 5, output: 6 } })
    await post('u-log')
    await f.ledger('u-log') // the settle, and its log line, land right after the answer
    const lines = f.h.logs.filter(
      (l) => l.userId === 'u-log' && String(l.msg).startsWith('Tracked'),
    )
    expect(lines.map((l) => l.msg)).toEqual([
      'Tracked 5 tokens_input + 6 tokens_output for user u-log model gpt-4o-mini',
    ])
    expect(f.h.logText()).not.toContain(UPSTREAM_KEY)
    expect(f.h.logText()).not.toContain(await f.token('u-log'))
  })
})
