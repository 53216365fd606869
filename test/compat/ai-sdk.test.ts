import { createOpenAI } from '@ai-sdk/openai'
import { APICallError, embedMany, generateText, streamText, tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import * as compat from './compat-fixture.ts'

/**
 * The Vercel AI SDK (`ai` 6 + `@ai-sdk/openai` 3) against the gateway, with
 * both of its OpenAI language models: the default provider (`openai(id)`, the
 * Responses API) and `openai.chat(id)` (Chat Completions).
 *
 * maxRetries: 0 on every call (as docs/clients.md advises): the AI SDK ignores
 * `x-should-retry: false` and retries every 429 twice by default, waiting
 * Retry-After when under 60 s, else 2 s then 4 s, so a quota refusal would
 * reach the user about 6 s later and hit the gateway three times.
 */
const f = compat.useCompatFixture()

async function provider(userId: string) {
  return createOpenAI({ baseURL: `${f.base}/v1`, apiKey: await f.token(userId) })
}

const weather = tool({
  description: 'The weather in a city',
  inputSchema: z.object({ city: z.string(), unit: z.string() }),
})

type Model = 'responses' | 'chat'
const models: Model[] = ['responses', 'chat']
const pick = (openai: Awaited<ReturnType<typeof provider>>, kind: Model, id = 'gpt-4o-mini') =>
  kind === 'chat' ? openai.chat(id) : openai(id)

describe.each(models)('AI SDK, %s model', (kind) => {
  it('generateText', async () => {
    const user = `ai-${kind}-text`
    f.upstream.once({ usage: { input: 31, output: 8 } })
    const result = await generateText({
      model: pick(await provider(user), kind),
      prompt: 'Hi',
      maxRetries: 0,
    })
    expect(result.text).toBe(DEFAULT_TEXT)
    expect(result.usage.inputTokens).toBe(31)
    expect(f.upstream.requests.at(-1)?.path).toBe(
      kind === 'chat' ? '/v1/chat/completions' : '/v1/responses',
    )
    await f.expectLedger(user, 31, 8)
  })

  it('streamText', async () => {
    const user = `ai-${kind}-stream`
    f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
    const result = streamText({
      model: pick(await provider(user), kind),
      prompt: 'Hi',
      maxRetries: 0,
    })
    let text = ''
    for await (const delta of result.textStream) text += delta
    expect(text).toBe(DEFAULT_TEXT)
    expect((await result.usage).outputTokens).toBe(9)
    await f.expectLedger(user, 33, 9)
  })

  it('streamed tool call', async () => {
    const user = `ai-${kind}-tools`
    f.upstream.once({
      usage: { input: 40, output: 12 },
      toolCall: { name: 'get_weather', arguments: compat.WEATHER_ARGS },
      chunks: 4,
    })
    const result = streamText({
      model: pick(await provider(user), kind),
      prompt: 'Weather in Paris?',
      tools: { get_weather: weather },
      maxRetries: 0,
    })
    const calls = await result.toolCalls
    expect(
      calls.map((c) => [c.toolName, c.input]),
      JSON.stringify(calls),
    ).toEqual([['get_weather', JSON.parse(compat.WEATHER_ARGS)]])
    expect(await result.finishReason).toBe('tool-calls')
    await f.expectLedger(user, 40, 12)
  })

  it('upstream fails mid-stream: the stream errors with the gateway message, not a type validation error', async () => {
    const user = `ai-${kind}-fail`
    f.upstream.once({ resetAfterChunks: 2, chunks: 4 })
    const errors: unknown[] = []
    const result = streamText({
      model: pick(await provider(user), kind),
      prompt: 'Hi',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error)
      },
    })
    let text = ''
    for await (const delta of result.textStream) text += delta
    expect(text.length).toBeGreaterThan(0)
    expect(errors, String(errors)).toHaveLength(1)
    const shown = JSON.stringify(errors[0])
    expect(String((errors[0] as { name?: string }).name)).not.toMatch(/TypeValidation/)
    expect(shown, shown).toContain('upstream_error')
    expect(shown, shown).toContain('The upstream connection failed')
    const ledger = await f.settled(user)
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
    expect(ledger.reservations).toBe(0)
  })

  it('429: APICallError 429 with the gateway message', async () => {
    const user = `ai-${kind}-429`
    const before = f.upstream.requests.length
    const error = await generateText({
      model: pick(await provider(user), kind),
      prompt: compat.OVERSIZED_PROMPT,
      maxRetries: 0,
    }).catch((e: unknown) => e)
    expect(APICallError.isInstance(error), String(error)).toBe(true)
    const apiError = error as APICallError
    expect(apiError.statusCode).toBe(429)
    expect(apiError.message).toContain('Quota exceeded for tokens_input')
    expect(apiError.isRetryable).toBe(true) // hence maxRetries: 0 (see the top of this file)
    await f.expectNothingBilled(user, before)
  })

  it('403: APICallError 403, not retryable, with the gateway message', async () => {
    const user = `ai-${kind}-403`
    const before = f.upstream.requests.length
    const error = await generateText({
      model: pick(await provider(user), kind, compat.FORBIDDEN_MODEL),
      prompt: 'Hi',
    }).catch((e: unknown) => e)
    expect(APICallError.isInstance(error), String(error)).toBe(true)
    expect((error as APICallError).statusCode).toBe(403)
    expect((error as APICallError).isRetryable).toBe(false)
    expect((error as APICallError).message).toContain('is not included in your plan')
    await f.expectNothingBilled(user, before)
  })
})

it('why maxRetries: 0: without it the AI SDK asks again after a quota 429 (x-should-retry: false is ignored)', async () => {
  const refusals = async () =>
    (await f.h.deps.metrics.quotaRefusals.get()).values.reduce((sum, v) => sum + v.value, 0)
  const before = await refusals()
  const openai = await provider('ai-retries')
  // One retry (2 s of backoff) shows the behaviour; the default of two costs about 6 s.
  const error = await generateText({
    model: openai('gpt-4o-mini'),
    prompt: compat.OVERSIZED_PROMPT,
    maxRetries: 1,
  }).catch((e: unknown) => e)
  expect(String(error)).toContain('Quota exceeded for tokens_input')
  expect(await refusals()).toBe(before + 2)
}, 15_000)

it('AI SDK embeddings', async () => {
  f.upstream.once({ usage: { input: 17, output: 0 } })
  const openai = await provider('ai-embeddings')
  const result = await embedMany({
    model: openai.embedding('text-embedding-3-small'),
    values: ['a', 'b'],
    maxRetries: 0,
  })
  expect(result.embeddings).toHaveLength(2)
  expect(result.usage.tokens).toBe(17)
  await f.expectLedger('ai-embeddings', 17, 0)
})
