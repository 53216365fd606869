import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ANTHROPIC_UPSTREAM_KEY,
  type AnthropicFixture,
  startAnthropicFixture,
} from '../helpers/anthropic-fixture.ts'
import { ANTHROPIC_MODELS } from '../helpers/fake-anthropic.ts'
import { expectBilledExactly } from '../helpers/proxy-fixture.ts'

/**
 * @anthropic-ai/sdk against the gateway against the fake Anthropic API: answers
 * arrive intact (text, thinking, tool calls), stream and not; the ledger holds
 * exactly the upstream's usage with the cache classes in the input; the
 * upstream sees its own key as x-api-key, never the user's; count_tokens is
 * answered and never billed.
 */
let f: AnthropicFixture
beforeAll(async () => {
  f = await startAnthropicFixture()
})
afterAll(async () => {
  // No log line holds the operator's key or a user's token, whichever header carried it.
  const logs = f.h.logText()
  expect(logs).not.toContain(ANTHROPIC_UPSTREAM_KEY)
  expect(logs).not.toContain(await f.token('x-api-key-user'))
  await f?.close()
})

/** The last upstream request: the operator's key as x-api-key, no trace of the user's token. */
async function expectOperatorKeyOnly(userId: string) {
  const request = f.anthropic.requests.at(-1)!
  const headers = JSON.stringify(request.headers)
  expect(request.headers['x-api-key'], headers).toBe(ANTHROPIC_UPSTREAM_KEY)
  expect(request.headers.authorization, headers).toBeUndefined()
  expect(headers).not.toContain(await f.token(userId))
  return request
}

describe('messages, non-stream', () => {
  it('thinking and text: intact answer, input + cache writes + cache reads billed as input', async () => {
    f.anthropic.once({
      blocks: [
        { type: 'thinking', thinking: 'Simple greeting.' },
        { type: 'text', text: 'Привет!' },
      ],
      usage: { input: 12, cacheWrite: 1024, cacheRead: 20_000, output: 30 },
    })
    const client = await f.sdk('plain-user')
    const answer = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(
      answer.content.map((b) => b.type),
      JSON.stringify(answer),
    ).toEqual(['thinking', 'text'])
    expect(answer.content[1]).toMatchObject({ type: 'text', text: 'Привет!' })
    expect(answer.usage).toMatchObject({
      input_tokens: 12,
      cache_creation_input_tokens: 1024,
      cache_read_input_tokens: 20_000,
      output_tokens: 30,
    })
    const request = await expectOperatorKeyOnly('plain-user')
    expect(request.path).toBe('/v1/messages')
    expect(request.headers['anthropic-version']).toBeTruthy()
    expectBilledExactly(await f.ledger('plain-user'), 12 + 1024 + 20_000, 30)
  })

  it('the key as x-api-key (ANTHROPIC_API_KEY) is the gateway key too', async () => {
    const client = await f.sdk('x-api-key-user', { auth: 'x-api-key' })
    const answer = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'Hello!' })
    await expectOperatorKeyOnly('x-api-key-user')
    expectBilledExactly(await f.ledger('x-api-key-user'), 12, 7)
  })
})

describe('messages, stream', () => {
  it('thinking, text and a tool call: the SDK assembles them; usage overlaid from message_start and message_delta', async () => {
    f.anthropic.once({
      blocks: [
        { type: 'thinking', thinking: 'User wants weather; call get_weather.' },
        { type: 'text', text: 'Checking the weather.' },
        { type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } },
      ],
      usage: { input: 3, cacheWrite: 1200, cacheRead: 20_000, output: 87 },
    })
    const client = await f.sdk('stream-user')
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-6',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      tools: [
        {
          name: 'get_weather',
          description: 'Weather by city',
          input_schema: { type: 'object', properties: { location: { type: 'string' } } },
        },
      ],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    })
    const message = await stream.finalMessage()
    expect(
      message.content.map((b) => b.type),
      JSON.stringify(message),
    ).toEqual(['thinking', 'text', 'tool_use'])
    expect(message.content[2]).toMatchObject({ name: 'get_weather', input: { location: 'Paris' } })
    expect(message.stop_reason).toBe('tool_use')
    expect(message.usage).toMatchObject({
      input_tokens: 3,
      cache_creation_input_tokens: 1200,
      cache_read_input_tokens: 20_000,
      output_tokens: 87,
    })
    await expectOperatorKeyOnly('stream-user')
    expectBilledExactly(await f.ledger('stream-user'), 3 + 1200 + 20_000, 87)
  })

  it('a message_delta with output_tokens only (Bedrock-like): the input stays message_start’s', async () => {
    f.anthropic.once({
      deltaOutputOnly: true,
      usage: { input: 40, cacheRead: 500, output: 9 },
    })
    const client = await f.sdk('delta-only-user')
    await client.messages
      .stream({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Hi' }],
      })
      .finalMessage()
    expectBilledExactly(await f.ledger('delta-only-user'), 540, 9)
  })
})

describe('count_tokens', () => {
  it('answered by the Anthropic upstream, passed through, never billed', async () => {
    f.anthropic.once({ countTokens: 1234 })
    const client = await f.sdk('count-user')
    const counted = await client.messages.countTokens({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'How many tokens is this?' }],
    })
    expect(counted).toEqual({ input_tokens: 1234 })
    const request = await expectOperatorKeyOnly('count-user')
    expect(request.path).toBe('/v1/messages/count_tokens')
    const ledger = await f.ledger('count-user')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 0,
      tokens_input: 0,
      tokens_output: 0,
    })
    expect(ledger.reservations).toBe(0)
  })

  it('an upstream without count_tokens (404): the gateway counts, free too', async () => {
    f.anthropic.once({ countTokens: 'missing' })
    const client = await f.sdk('local-count-user')
    const counted = await client.messages.countTokens({
      model: 'claude-sonnet-4-6',
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'How many tokens is this sentence, roughly?' }],
    })
    expect(counted.input_tokens, JSON.stringify(counted)).toBeGreaterThan(10)
    expect(counted.input_tokens).toBeLessThan(100)
    const ledger = await f.ledger('local-count-user')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })

  it("a model outside the plan is refused there too (permission_error); another kind's model is counted locally", async () => {
    const before = f.anthropic.requests.length
    const client = await f.sdk('count-refused-user')
    // gpt-4o-mini is in the plan but served by an OpenAI upstream: counted by the gateway.
    const local = await client.messages.countTokens({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
    })
    expect(local).toEqual({ input_tokens: expect.any(Number) })
    const refused = await client.messages
      .countTokens({ model: 'o3-pro', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e)
    expect(refused.status, String(refused)).toBe(403)
    expect(refused.error).toMatchObject({ type: 'error', error: { type: 'permission_error' } })
    expect(f.anthropic.requests.length).toBe(before)
  })
})

describe("models (Claude Code's model discovery)", () => {
  it("lists the plan's Claude models in Anthropic's shape to the SDK, the key as x-api-key", async () => {
    const client = await f.sdk('models-user', { auth: 'x-api-key' })
    const ids: string[] = []
    for await (const model of client.models.list({ limit: 1000 })) {
      expect(model).toMatchObject({ type: 'model', id: expect.any(String) })
      expect(Date.parse(model.created_at), JSON.stringify(model)).not.toBeNaN()
      ids.push(model.id)
    }
    // Every model of the Anthropic upstream's, past Anthropic's default page of 20 (Claude Code
    // keeps the ids that name Claude; the plan's other models are listed too).
    expect(ids.filter((id) => id.startsWith('claude-'))).toEqual(ANTHROPIC_MODELS)
    const listing = f.anthropic.requestsTo('/v1/models').at(-1)!
    expect(listing.headers['x-api-key']).toBe(ANTHROPIC_UPSTREAM_KEY)
    expect(listing.headers['anthropic-version']).toBeTruthy()
    const one = await client.models.retrieve('claude-sonnet-4-6')
    expect(one).toMatchObject({ type: 'model', id: 'claude-sonnet-4-6' })
    const ledger = await f.ledger('models-user')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })
})
