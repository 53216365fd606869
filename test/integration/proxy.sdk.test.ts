import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'

/**
 * The openai SDK (6.x) against the gateway against the fake upstream: answers
 * arrive intact, the ledger holds exactly the upstream's usage, and the
 * upstream sees its own key, never the user's token.
 */
let f: ProxyFixture
beforeAll(async () => {
  f = await startProxyFixture()
})
afterAll(async () => {
  await f?.close()
})

const exact = (input: number, output: number) => ({
  used: { requests: 1, tokens_input: input, tokens_output: output },
  reserved: { requests: 0, tokens_input: 0, tokens_output: 0 },
  reservations: 0,
})

/** The last upstream request: it carried the upstream key, and no trace of the user's token. */
async function expectUpstreamKeyOnly(userId: string) {
  const request = f.upstream.requests.at(-1)!
  const headers = JSON.stringify(request.headers)
  expect(request.headers.authorization, headers).toBe(`Bearer ${UPSTREAM_KEY}`)
  expect(headers).not.toContain(await f.token(userId))
  return request
}

describe('non-stream', () => {
  it('chat completion: intact answer, exact usage, upstream key, unknown fields forwarded byte for byte', async () => {
    f.upstream.once({ usage: { input: 101, output: 37 }, text: 'Привет, мир' })
    const client = await f.client('chat-user')
    const params = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Say hi' }],
      max_tokens: 64,
      some_future_field: { nested: [1, 2.5, 'x'] },
    }
    const answer = await client.chat.completions.create(params as never)
    expect(answer.choices[0]!.message.content, JSON.stringify(answer)).toBe('Привет, мир')
    expect(answer.usage).toEqual({ prompt_tokens: 101, completion_tokens: 37, total_tokens: 138 })

    const request = await expectUpstreamKeyOnly('chat-user')
    expect(request.rawBody).toBe(JSON.stringify(params))
    expect(await f.ledger('chat-user')).toMatchObject(exact(101, 37))
    const usage = (await f.ledger('chat-user')).usage
    expect(usage.map((u) => [u.metric, u.amount, u.estimated, u.model_id])).toEqual([
      ['requests', 1, 0, 'gpt-4o-mini'],
      ['tokens_input', 101, 0, 'gpt-4o-mini'],
      ['tokens_output', 37, 0, 'gpt-4o-mini'],
    ])
  })

  it('completion (legacy)', async () => {
    f.upstream.once({ usage: { input: 5, output: 9 } })
    const client = await f.client('completion-user')
    const answer = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Once upon',
    })
    expect(answer.choices[0]!.text, JSON.stringify(answer)).toBe(DEFAULT_TEXT)
    await expectUpstreamKeyOnly('completion-user')
    expect(await f.ledger('completion-user')).toMatchObject(exact(5, 9))
  })

  it('embeddings: input tokens only, base64 vectors decoded by the SDK', async () => {
    f.upstream.once({ usage: { input: 44, output: 0 } })
    const client = await f.client('embeddings-user')
    const answer = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
    })
    expect(answer.data.length, JSON.stringify(answer)).toBe(2)
    expect(answer.data[1]!.embedding[0]).toBeCloseTo(0.25)
    expect(answer.usage).toEqual({ prompt_tokens: 44, total_tokens: 44 })
    await expectUpstreamKeyOnly('embeddings-user')
    expect(await f.ledger('embeddings-user')).toMatchObject(exact(44, 0))
  })

  it('responses: usage from input_tokens / output_tokens', async () => {
    f.upstream.once({ usage: { input: 21, output: 13 } })
    const client = await f.client('responses-user')
    const answer = await client.responses.create({
      model: 'gpt-4o',
      input: 'Tell me a joke',
      max_output_tokens: 50,
    })
    expect(answer.output_text, JSON.stringify(answer)).toBe(DEFAULT_TEXT)
    expect(answer.usage?.input_tokens).toBe(21)
    await expectUpstreamKeyOnly('responses-user')
    expect(await f.ledger('responses-user')).toMatchObject(exact(21, 13))
  })
})

describe('stream', () => {
  it('chat without include_usage: the SDK sees no usage chunk, the upstream was asked for one, the ledger has it', async () => {
    f.upstream.once({ usage: { input: 60, output: 17 }, chunks: 4 })
    const client = await f.client('stream-user')
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(text, JSON.stringify(chunks)).toBe(DEFAULT_TEXT)
    expect(
      chunks.filter((c) => c.usage),
      JSON.stringify(chunks),
    ).toEqual([])
    expect(
      chunks.filter((c) => c.choices.length === 0),
      JSON.stringify(chunks),
    ).toEqual([])

    const request = await expectUpstreamKeyOnly('stream-user')
    expect(request.body?.stream_options, request.rawBody).toEqual({ include_usage: true })
    expect(await f.ledger('stream-user')).toMatchObject(exact(60, 17))
  })

  it('chat and completions without include_usage: no chunk carries a `usage` key, as OpenAI sends them then', async () => {
    for (const [path, body] of [
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }],
      ['/v1/completions', { prompt: 'x' }],
    ] as const) {
      f.upstream.once({ usage: { input: 9, output: 4 }, chunks: 5 })
      const user = `no-usage-key${path.replaceAll('/', '-')}`
      const response = await f.fetch(user, path, {
        method: 'POST',
        json: { model: 'gpt-4o-mini', stream: true, ...body },
      })
      const text = await response.text()
      // The upstream was asked for usage, so it put `"usage":null` on every chunk.
      expect(f.upstream.requests.at(-1)!.body?.stream_options).toEqual({ include_usage: true })
      const chunks = text
        .split('\n\n')
        .filter((event) => event.startsWith('data: {'))
        .map((event) => JSON.parse(event.slice(6)) as Record<string, unknown>)
      expect(chunks.length, text).toBeGreaterThanOrEqual(5)
      expect(
        chunks.filter((chunk) => 'usage' in chunk),
        text,
      ).toEqual([])
      expect(text.endsWith('data: [DONE]\n\n'), text).toBe(true)
      expect(await f.ledger(user)).toMatchObject(exact(9, 4))
    }
  })

  it('chat with include_usage: the usage chunk arrives, and the body went upstream unchanged', async () => {
    f.upstream.once({ usage: { input: 8, output: 3 } })
    const client = await f.client('stream-usage-user')
    const params = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Stream please' }],
      stream: true as const,
      stream_options: { include_usage: true },
    }
    const chunks = []
    for await (const chunk of await client.chat.completions.create(params)) chunks.push(chunk)
    expect(chunks.at(-1)?.usage, JSON.stringify(chunks)).toEqual({
      prompt_tokens: 8,
      completion_tokens: 3,
      total_tokens: 11,
    })
    expect(f.upstream.requests.at(-1)!.rawBody).toBe(JSON.stringify(params))
    expect(await f.ledger('stream-usage-user')).toMatchObject(exact(8, 3))
  })

  it('chat with include_usage: false: the gateway asks for usage anyway and hides it', async () => {
    f.upstream.once({ usage: { input: 4, output: 2 } })
    const client = await f.client('stream-false-user')
    const chunks = []
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: false },
    })
    for await (const chunk of stream) chunks.push(chunk)
    expect(
      chunks.filter((c) => c.usage),
      JSON.stringify(chunks),
    ).toEqual([])
    expect(f.upstream.requests.at(-1)!.body?.stream_options).toEqual({ include_usage: true })
    expect(await f.ledger('stream-false-user')).toMatchObject(exact(4, 2))
  })

  it('completion stream', async () => {
    f.upstream.once({ usage: { input: 3, output: 30 } })
    const client = await f.client('completion-stream-user')
    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'x',
      stream: true,
    })
    let text = ''
    for await (const chunk of stream) {
      expect(chunk.usage ?? null, JSON.stringify(chunk)).toBeNull()
      text += chunk.choices[0]?.text ?? ''
    }
    expect(text).toBe(DEFAULT_TEXT)
    expect(f.upstream.requests.at(-1)!.body?.stream_options).toEqual({ include_usage: true })
    expect(await f.ledger('completion-stream-user')).toMatchObject(exact(3, 30))
  })

  it('responses stream: usage from response.completed, no stream_options injected', async () => {
    f.upstream.once({ usage: { input: 70, output: 25 } })
    const client = await f.client('responses-stream-user')
    const stream = await client.responses.create({ model: 'gpt-4o', input: 'Hi', stream: true })
    const events = []
    for await (const event of stream) events.push(event)
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []))
    expect(deltas.join(''), JSON.stringify(events)).toBe(DEFAULT_TEXT)
    const completed = events.find((e) => e.type === 'response.completed')
    expect(
      completed && 'response' in completed ? completed.response.usage?.output_tokens : null,
    ).toBe(25)
    const request = await expectUpstreamKeyOnly('responses-stream-user')
    expect(request.body && 'stream_options' in request.body, request.rawBody).toBe(false)
    expect(await f.ledger('responses-stream-user')).toMatchObject(exact(70, 25))
  })
})

describe('request metadata', () => {
  it('X-Chat-Id is stored with the usage rows and not sent upstream', async () => {
    const client = await f.client('chat-id-user')
    await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'X-Chat-Id': 'chat-42' } },
    )
    const { usage } = await f.ledger('chat-id-user')
    expect(usage.length, JSON.stringify(usage)).toBe(3)
    expect(
      usage.every((u) => u.chat_id === 'chat-42'),
      JSON.stringify(usage),
    ).toBe(true)
    expect(f.upstream.requests.at(-1)!.headers['x-chat-id']).toBeUndefined()
  })

  it('a client-chosen x-request-id used twice at once still bills both calls (reservations never share an id)', async () => {
    f.upstream.behave({ latencyMs: 50 })
    const calls = await Promise.all(
      [1, 2].map(() =>
        f.fetch('request-id-user', '/v1/chat/completions', {
          method: 'POST',
          headers: { 'x-request-id': 'client-chosen-id' },
          json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        }),
      ),
    )
    f.upstream.behave({})
    for (const call of calls) {
      expect(call.status, await call.text()).toBe(200)
      expect(call.headers.get('x-request-id')).toBe('client-chosen-id')
    }
    const ledger = await f.ledger('request-id-user')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 2,
      tokens_input: 24,
      tokens_output: 14,
    })
    expect(ledger.reservations).toBe(0)
  })

  it('counts tokens in the metrics, by metric and model pattern (ops.metrics-auth.test.ts)', async () => {
    // The fixture is shared by the file's tests: other gpt-4o snapshots count under the same label.
    const counted = async () =>
      Object.fromEntries(
        (await f.h.deps.metrics.tokens.get()).values
          .filter((v) => v.labels.model === 'gpt-4o-20##-##-##')
          .map((v) => [v.labels.metric, v.value]),
      )
    const before = await counted()
    f.upstream.once({ usage: { input: 1000, output: 2000 } })
    const client = await f.client('metrics-user')
    await client.chat.completions.create({
      model: 'gpt-4o-2024-08-06',
      messages: [{ role: 'user', content: 'hi' }],
    })
    const after = await counted()
    expect(after.tokens_input - (before.tokens_input ?? 0)).toBe(1000)
    expect(after.tokens_output - (before.tokens_output ?? 0)).toBe(2000)
    const text = await f.h.deps.metrics.registry.getSingleMetricAsString('gateway_tokens_total')
    expect(text).not.toContain('gpt-4o-2024-08-06')
  })
})
