import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dataUrl, png, wav } from '../helpers/media.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * The prompt estimate is never below what an upstream that
 * bills as OpenAI does counts (the fake's realisticUsage mode: the real
 * tokenizer over every string, images, audio and files by their rules),
 * wherever the text hides, so a small plan cannot be overrun by hiding a
 * document in a field the estimator skipped.
 */

/** Real prose and code: the READMEs of the installed packages. */
function prose(): string {
  let text = ''
  for (const name of readdirSync('node_modules')) {
    try {
      text += `${readFileSync(`node_modules/${name}/README.md`, 'utf8')}\n`
    } catch {}
    if (text.length > 1_000_000) break
  }
  return text
}
const TEXT = prose()
const KB400 = 400_000
const doc = (at: number, length = KB400) => TEXT.slice(at, at + length)
const base64 = (text: string) => Buffer.from(text).toString('base64')
const user = (content: unknown) => ({ role: 'user', content })

type Case = [name: string, path: string, body: Record<string, unknown>]

const CHAT = '/v1/chat/completions'
const RESPONSES = '/v1/responses'
const corpus: Case[] = [
  [
    'a plain conversation',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are a careful assistant. Answer in one paragraph.' },
        user(doc(1_000, 3_000)),
        { role: 'assistant', content: doc(5_000, 1_500) },
        user('Привет! Summarise the above in Russian, please.'),
      ],
      temperature: 0.2,
      max_tokens: 300,
    },
  ],
  [
    'tool calls and their results',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [
        user('What is the weather in Paris and Berlin?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: doc(9_000, 2_000) },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'weather',
            description: 'Current weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
      ],
    },
  ],
  [
    '400 KB in response_format.json_schema',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [user('hi')],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'doc', schema: { type: 'object', description: doc(20_000) } },
      },
    },
  ],
  [
    '400 KB in prediction.content',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [user('hi')],
      prediction: { type: 'content', content: doc(40_000) },
    },
  ],
  [
    'a 400 KB file part (file_data)',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [
        user([
          { type: 'text', text: 'Summarise this.' },
          {
            type: 'file',
            file: {
              filename: 'doc.pdf',
              file_data: `data:application/pdf;base64,${base64(doc(60_000, 300_000))}`,
            },
          },
        ]),
      ],
    },
  ],
  [
    'a 400 KB input_audio part',
    CHAT,
    {
      model: 'gpt-4o-audio-preview',
      messages: [
        user([
          {
            type: 'input_audio',
            input_audio: { data: wav(12.5).toString('base64'), format: 'wav' },
          },
        ]),
      ],
    },
  ],
  [
    'a 400 KB PNG data URL',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [
        user([
          { type: 'text', text: 'What is in this picture?' },
          {
            type: 'image_url',
            image_url: { url: dataUrl('image/png', png(4000, 3000, KB400)), detail: 'high' },
          },
        ]),
      ],
    },
  ],
  [
    'a 400 KB image whose header cannot be read, and a remote one',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [
        user([
          { type: 'image_url', image_url: { url: dataUrl('image/jpeg', randomBytes(300_000)) } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'auto' } },
        ]),
      ],
    },
  ],
  [
    'gpt-4o-mini images (33 x the tokens of gpt-4o)',
    CHAT,
    {
      model: 'gpt-4o-mini',
      messages: [
        user([
          { type: 'image_url', image_url: { url: dataUrl('image/png', png(1024, 1024)) } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
        ]),
      ],
    },
  ],
  [
    '400 KB under a message key the estimator did not read',
    CHAT,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi', notes: doc(80_000) }] },
  ],
  [
    '400 KB of tool definitions',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [user('hi')],
      tools: Array.from({ length: 40 }, (_, i) => ({
        type: 'function',
        function: {
          name: `tool_${i}`,
          description: doc(100_000 + i * 10_000, 10_000),
          parameters: { type: 'object', properties: { q: { type: 'string', enum: ['a', 'b'] } } },
        },
      })),
    },
  ],
  [
    '400 KB of metadata',
    CHAT,
    {
      model: 'gpt-4o',
      messages: [user('hi')],
      metadata: Object.fromEntries(
        Array.from({ length: 800 }, (_, i) => [`key_${i}`, doc(150_000 + i * 500, 500)]),
      ),
    },
  ],
  [
    '400 KB in an unknown top-level field',
    CHAT,
    { model: 'gpt-4o', messages: [user('hi')], x_context: doc(200_000) },
  ],
  [
    '400 KB in Responses text.format',
    RESPONSES,
    {
      model: 'gpt-4o',
      input: 'hi',
      text: {
        format: {
          type: 'json_schema',
          name: 'doc',
          schema: { type: 'object', description: doc(250_000) },
        },
      },
    },
  ],
  [
    '400 KB in Responses prompt.variables',
    RESPONSES,
    { model: 'gpt-4o', prompt: { id: 'pmpt_123', variables: { document: doc(300_000) } } },
  ],
  [
    'Responses input items with text, an image and a function result',
    RESPONSES,
    {
      model: 'gpt-4o',
      instructions: 'Be brief.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: doc(350_000, 5_000) },
            {
              type: 'input_image',
              image_url: dataUrl('image/png', png(2048, 4096)),
              detail: 'high',
            },
          ],
        },
        { type: 'function_call_output', call_id: 'call_9', output: doc(356_000, 3_000) },
      ],
    },
  ],
  [
    'an embeddings batch',
    '/v1/embeddings',
    { model: 'text-embedding-3-small', input: [doc(400_000, 8_000), doc(410_000, 8_000)] },
  ],
  [
    'a completions prompt',
    '/v1/completions',
    { model: 'gpt-3.5-turbo-instruct', prompt: doc(420_000, 20_000), max_tokens: 20 },
  ],
]

describe('the estimate is never below the upstream prompt count', () => {
  let f: ProxyFixture
  beforeAll(async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 1000, tokens_input: 100_000_000, tokens_output: 1_000_000 } },
      // The shipped features grant no audio model (it is priced beyond its tokens).
      config: { openModels: ['gpt-4o-audio-preview'] },
    })
  })
  afterAll(async () => {
    await f?.close()
  })

  it.each(corpus)('%s', async (name, path, body) => {
    const userId = `corpus-${name.replace(/\W+/g, '-')}`
    // No usage in the answer: the gateway bills its own estimate, which the ledger shows.
    f.upstream.once({ realisticUsage: true, omitUsage: true })
    const response = await f.fetch(userId, path, { method: 'POST', json: body })
    expect(response.status, await response.text()).toBe(200)
    const upstreamCount = f.upstream.requests.at(-1)?.promptTokens ?? Number.NaN
    expect(upstreamCount).toBeGreaterThan(0)
    const ledger = await f.settled(userId)
    const billed = ledger.used.tokens_input
    expect(billed, `estimate ${billed} vs upstream ${upstreamCount}`).toBeGreaterThanOrEqual(
      upstreamCount,
    )
    expect(ledger.usage.find((u) => u.metric === 'tokens_input')?.estimated).toBe(1)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })

  it('with the upstream usage in the answer, that usage is billed as it is', async () => {
    f.upstream.once({ realisticUsage: true })
    const response = await f.fetch('corpus-reported', CHAT, { method: 'POST', json: corpus[3]![2] })
    expect(response.status, await response.text()).toBe(200)
    const upstreamCount = f.upstream.requests.at(-1)?.promptTokens
    expect(upstreamCount).toBeGreaterThan(50_000)
    expect((await f.settled('corpus-reported')).used.tokens_input).toBe(upstreamCount)
  })
})

describe('a 2,000-token plan with 480 left', () => {
  let f: ProxyFixture | undefined
  afterEach(async () => {
    await f?.close()
    f = undefined
  })

  async function planWith480Left(userId: string) {
    f = await startProxyFixture({
      plan: { quotas: { requests: 1000, tokens_input: 2_000, tokens_output: 1_000_000 } },
    })
    f.upstream.once({ usage: { input: 1_520, output: 1 } })
    const first = await f.fetch(userId, CHAT, {
      method: 'POST',
      json: { model: 'gpt-4o', messages: [user('hi')] },
    })
    expect(first.status, await first.text()).toBe(200)
    expect((await f.ledger(userId)).used.tokens_input).toBe(1_520)
    return f
  }

  /** The same hidden text in each field the estimator used to skip, in turn. */
  function hidden(i: number, text: string): Record<string, unknown> {
    const base = { model: 'gpt-4o', messages: [user('hi')] as unknown[] }
    switch (i % 6) {
      case 0:
        return {
          ...base,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'x', schema: { description: text } },
          },
        }
      case 1:
        return { ...base, prediction: { type: 'content', content: text } }
      case 2:
        return { ...base, metadata: { note: text } }
      case 3:
        return { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi', notes: text }] }
      case 4:
        return {
          ...base,
          tools: [{ type: 'function', function: { name: 'f', description: text } }],
        }
      default:
        return { ...base, x_unknown: text }
    }
  }

  it('19 concurrent requests hiding ~150 tokens each: the counter never passes the limit', async () => {
    const fixture = await planWith480Left('c19')
    fixture.upstream.behave({ realisticUsage: true, latencyMs: 100 })
    const responses = await Promise.all(
      Array.from({ length: 19 }, (_, i) =>
        fixture.fetch('c19', CHAT, {
          method: 'POST',
          json: hidden(i, doc(500_000 + i * 700, 600)),
        }),
      ),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200).length, JSON.stringify(statuses)).toBeGreaterThan(0)
    expect(
      statuses.every((s) => s === 200 || s === 429),
      JSON.stringify(statuses),
    ).toBe(true)
    const ledger = await fixture.settled('c19')
    // Every admitted request was billed the upstream's own count, and their sum fits the plan.
    const upstream = fixture.upstream.requests
      .slice(1)
      .reduce((sum, r) => sum + (r.promptTokens ?? 0), 0)
    expect(ledger.used.tokens_input).toBe(1_520 + upstream)
    expect(ledger.used.tokens_input, JSON.stringify(ledger.used)).toBeLessThanOrEqual(2_000)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })

  it('19 concurrent requests hiding 400 KB each: all refused, nothing reaches the upstream', async () => {
    const fixture = await planWith480Left('c19-big')
    fixture.upstream.behave({ realisticUsage: true, latencyMs: 100 })
    const responses = await Promise.all(
      Array.from({ length: 19 }, (_, i) =>
        fixture.fetch('c19-big', CHAT, { method: 'POST', json: hidden(i, doc(i * 20_000)) }),
      ),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(19).fill(429))
    expect(fixture.upstream.requests.length).toBe(1)
    const ledger = await fixture.settled('c19-big')
    expect(ledger.used.tokens_input).toBe(1_520)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })
})
