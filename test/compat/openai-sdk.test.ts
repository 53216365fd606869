import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import * as compat from './compat-fixture.ts'

/** The openai SDK (6.x) as users call it, against the gateway: what it shows, and the ledger. */
const f = compat.useCompatFixture()

const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }]
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
}

describe('openai SDK', () => {
  it('chat', async () => {
    f.upstream.once({ usage: { input: 31, output: 8 } })
    const client = await f.client('oa-chat')
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
    expect(answer.choices[0]?.message.content, JSON.stringify(answer)).toBe(DEFAULT_TEXT)
    await f.expectLedger('oa-chat', 31, 8)
  })

  it('chat stream', async () => {
    f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
    const client = await f.client('oa-stream')
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
    })
    let text = ''
    for await (const chunk of stream) {
      expect(chunk, JSON.stringify(chunk)).not.toHaveProperty('usage')
      text += chunk.choices[0]?.delta.content ?? ''
    }
    expect(text).toBe(DEFAULT_TEXT)
    await f.expectLedger('oa-stream', 33, 9)
  })

  it('streamed tool call', async () => {
    f.upstream.once({
      usage: { input: 40, output: 12 },
      toolCall: { name: 'get_weather', arguments: compat.WEATHER_ARGS },
      chunks: 4,
    })
    const client = await f.client('oa-tools')
    const stream = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages,
      tools: [weatherTool],
    })
    const final = await stream.finalChatCompletion()
    const call = final.choices[0]?.message.tool_calls?.[0]
    expect(call, JSON.stringify(final)).toMatchObject({
      type: 'function',
      function: { name: 'get_weather', arguments: compat.WEATHER_ARGS },
    })
    expect(final.choices[0]?.finish_reason).toBe('tool_calls')
    await f.expectLedger('oa-tools', 40, 12)
  })

  it('responses', async () => {
    f.upstream.once({ usage: { input: 21, output: 13 } })
    const client = await f.client('oa-responses')
    const answer = await client.responses.create({ model: 'gpt-4o', input: 'Hi' })
    expect(answer.output_text, JSON.stringify(answer)).toBe(DEFAULT_TEXT)
    await f.expectLedger('oa-responses', 21, 13)
  })

  it('responses stream', async () => {
    f.upstream.once({ usage: { input: 22, output: 14 }, chunks: 4 })
    const client = await f.client('oa-responses-stream')
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'Hi' })
    const deltas: string[] = []
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta))
    const final = await stream.finalResponse()
    expect(deltas.join('')).toBe(DEFAULT_TEXT)
    const message = final.output.find((item) => item.type === 'message')
    const part = message?.type === 'message' ? message.content[0] : undefined
    expect(part?.type === 'output_text' ? part.text : null, JSON.stringify(final)).toBe(
      DEFAULT_TEXT,
    )
    expect(final.usage?.output_tokens).toBe(14)
    await f.expectLedger('oa-responses-stream', 22, 14)
  })

  it('responses stream, upstream fails mid-way: the SDK raises the gateway error', async () => {
    f.upstream.once({ resetAfterChunks: 2, chunks: 4 })
    const client = await f.client('oa-responses-fail', { maxRetries: 0 })
    const stream = await client.responses.create({ model: 'gpt-4o', input: 'Hi', stream: true })
    const seen: string[] = []
    const error = await (async () => {
      for await (const event of stream) seen.push(event.type)
    })().catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error')
    expect(seen.filter((t) => t === 'response.output_text.delta')).toHaveLength(2)
    // Billed for what was delivered: the prompt estimate and the two counted deltas.
    const ledger = await f.settled('oa-responses-fail')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
    expect(ledger.used.tokens_output).toBeGreaterThan(0)
  })

  it('embeddings', async () => {
    f.upstream.once({ usage: { input: 17, output: 0 } })
    const client = await f.client('oa-embeddings')
    const answer = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
    })
    expect(answer.data).toHaveLength(2)
    await f.expectLedger('oa-embeddings', 17, 0)
  })

  it('429: RateLimitError with code insufficient_quota, not retried', async () => {
    const before = f.upstream.requests.length
    const client = await f.client('oa-429')
    const error = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: compat.OVERSIZED_PROMPT }],
      })
      .catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.RateLimitError)
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>
    expect(apiError.code).toBe('insufficient_quota')
    expect(apiError.type).toBe('insufficient_quota')
    expect(apiError.message).toContain('Quota exceeded for tokens_input')
    await f.expectNothingBilled('oa-429', before)
  })

  it('403: PermissionDeniedError with the gateway message', async () => {
    const before = f.upstream.requests.length
    const client = await f.client('oa-403')
    const error = await client.chat.completions
      .create({ model: compat.FORBIDDEN_MODEL, messages })
      .catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_allowed')
    expect(String(error)).toContain(
      `The model '${compat.FORBIDDEN_MODEL}' is not included in your plan`,
    )
    await f.expectNothingBilled('oa-403', before)
  })
})
