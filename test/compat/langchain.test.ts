import { tool } from '@langchain/core/tools'
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import * as compat from './compat-fixture.ts'

/**
 * @langchain/openai (1.5, Node 20 and up) against the gateway: ChatOpenAI on
 * Chat Completions and on the Responses API (useResponsesApi), and
 * OpenAIEmbeddings. LangChain classifies a 429 by its code: OpenAI's
 * `insufficient_quota` is InsufficientQuotaError (never retried), anything
 * else with a Retry-After is a retryable rate-limit error.
 */
const f = compat.useCompatFixture()

async function chat(userId: string, options: { model?: string; responses?: boolean } = {}) {
  return new ChatOpenAI({
    model: options.model ?? 'gpt-4o-mini',
    apiKey: await f.token(userId),
    configuration: { baseURL: `${f.base}/v1` },
    useResponsesApi: options.responses ?? false,
    maxRetries: 0,
  })
}

const weather = tool(async () => 'sunny', {
  name: 'get_weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string(), unit: z.string() }),
})

describe.each([false, true])('LangChain ChatOpenAI, useResponsesApi: %s', (responses) => {
  const tag = responses ? 'responses' : 'chat'

  it('invoke', async () => {
    const user = `lc-${tag}-invoke`
    f.upstream.once({ usage: { input: 31, output: 8 } })
    const message = await (await chat(user, { responses })).invoke('Hi')
    expect(
      message.content === DEFAULT_TEXT || message.text === DEFAULT_TEXT,
      JSON.stringify(message),
    ).toBe(true)
    expect(message.usage_metadata?.input_tokens).toBe(31)
    expect(f.upstream.requests.at(-1)?.path).toBe(
      responses ? '/v1/responses' : '/v1/chat/completions',
    )
    await f.expectLedger(user, 31, 8)
  })

  it('stream', async () => {
    const user = `lc-${tag}-stream`
    f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
    let text = ''
    for await (const chunk of await (await chat(user, { responses })).stream('Hi'))
      text += chunk.text
    expect(text).toBe(DEFAULT_TEXT)
    await f.expectLedger(user, 33, 9)
  })

  it('streamed tool call', async () => {
    const user = `lc-${tag}-tools`
    f.upstream.once({
      usage: { input: 40, output: 12 },
      toolCall: { name: 'get_weather', arguments: compat.WEATHER_ARGS },
      chunks: 4,
    })
    const model = (await chat(user, { responses })).bindTools([weather])
    let final: Awaited<ReturnType<typeof model.invoke>> | undefined
    for await (const chunk of await model.stream('Weather in Paris?')) {
      final = final ? final.concat(chunk) : chunk
    }
    expect(
      final?.tool_calls?.map((c) => [c.name, c.args]),
      JSON.stringify(final),
    ).toEqual([['get_weather', JSON.parse(compat.WEATHER_ARGS)]])
    await f.expectLedger(user, 40, 12)
  })

  it('upstream fails mid-stream: the stream raises the gateway error', async () => {
    const user = `lc-${tag}-fail`
    f.upstream.once({ resetAfterChunks: 2, chunks: 4 })
    let text = ''
    const error = await (async () => {
      for await (const chunk of await (await chat(user, { responses })).stream('Hi'))
        text += chunk.text
    })().catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(Error)
    expect(String(error)).toContain('The upstream connection failed')
    expect(text.length).toBeGreaterThan(0)
    const ledger = await f.settled(user)
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
  })

  it('429: InsufficientQuotaError with the gateway message, not retried', async () => {
    const user = `lc-${tag}-429`
    const before = f.upstream.requests.length
    // LangChain's own default of 6 retries: the refusal must still come back at once.
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: await f.token(user),
      configuration: { baseURL: `${f.base}/v1` },
      useResponsesApi: responses,
    })
    const started = Date.now()
    const error = await model.invoke(compat.OVERSIZED_PROMPT).catch((e: unknown) => e)
    expect((error as Error).name, String(error)).toBe('InsufficientQuotaError')
    expect(String(error)).toContain('Quota exceeded for tokens_input')
    expect(Date.now() - started).toBeLessThan(5_000)
    await f.expectNothingBilled(user, before)
  })

  it('403: PermissionDeniedError with the gateway message', async () => {
    const user = `lc-${tag}-403`
    const before = f.upstream.requests.length
    const error = await (await chat(user, { responses, model: compat.FORBIDDEN_MODEL }))
      .invoke('Hi')
      .catch((e: unknown) => e)
    expect((error as { status?: number }).status, String(error)).toBe(403)
    expect(String(error)).toContain('is not included in your plan')
    await f.expectNothingBilled(user, before)
  })
})

it('LangChain OpenAIEmbeddings', async () => {
  f.upstream.once({ usage: { input: 17, output: 0 } })
  const embeddings = new OpenAIEmbeddings({
    model: 'text-embedding-3-small',
    apiKey: await f.token('lc-embeddings'),
    configuration: { baseURL: `${f.base}/v1` },
    maxRetries: 0,
  })
  const vectors = await embeddings.embedDocuments(['a', 'b'])
  expect(vectors).toHaveLength(2)
  expect(vectors[0]?.length).toBe(8)
  await f.expectLedger('lc-embeddings', 17, 0)
})
