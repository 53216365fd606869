import { createHash } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import {
  chatChunks,
  chatCompletion,
  type Generated,
  responseEvents,
  responseObject,
  textCompletion,
  textCompletionChunks,
} from './answers.ts'
import {
  composeReply,
  countChatPrompt,
  countTokens,
  limitTokens,
  streamPieces,
  textOf,
} from './reply.ts'

/**
 * The demo's stand-in for OpenAI: an OpenAI-shaped server on 127.0.0.1 that
 * answers chat completions (JSON and SSE, with the usage chunk when asked),
 * completions, embeddings, the Responses API and /models, with canned text
 * and real token counts. It insists on the upstream key the gateway was
 * given, so the demo also shows that a client's own key never goes upstream.
 * Only src/demo/main.ts starts it; nothing on the production path knows it.
 * Not the tests' fake (test/helpers/fake-upstream.ts): the product never imports
 * test code, and a demo wants believable answers at a model's pace, not the
 * tests' failure switches. Not the bench's (bench/targets/mock-upstream.ts): that
 * one answers canned words as cheaply as it can, this one counts real tokens.
 */
const DEMO_MODELS = ['gpt-3.5-turbo', 'gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']

export interface SimulatedUpstreamOptions {
  apiKey: string
  /** 0 picks a free port. */
  port: number
  /** Pause between streamed words, so a stream looks like one (a model writes ~30 words/s). */
  wordDelayMs?: number
}

type Body = Record<string, unknown>

export async function startSimulatedUpstream(options: SimulatedUpstreamOptions) {
  const wordDelayMs = options.wordDelayMs ?? 30
  const app = new Hono()

  app.use('/v1/*', async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${options.apiKey}`) {
      return openAiError(c, 401, 'Incorrect API key provided', 'invalid_api_key')
    }
    await next()
  })

  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: DEMO_MODELS.map((id) => ({
        id,
        object: 'model',
        created: 1_700_000_000,
        owned_by: 'demo',
      })),
    }),
  )

  app.post('/v1/chat/completions', async (c) => {
    const body = await readBody(c)
    if (!body) return openAiError(c, 400, 'We could not parse the JSON body of your request.')
    const model = String(body.model ?? '')
    const messages = Array.isArray(body.messages) ? (body.messages as Body[]) : []
    const question = textOf([...messages].reverse().find((m) => m?.role === 'user')?.content)
    const g = generate(model, composeReply(question), countChatPrompt(model, messages), body)
    if (body.stream === true)
      return streamEvents(c, chatChunks(body, g, streamPieces(g.texts[0]!)), wordDelayMs)
    return c.json(chatCompletion(body, g))
  })

  app.post('/v1/completions', async (c) => {
    const body = await readBody(c)
    if (!body) return openAiError(c, 400, 'We could not parse the JSON body of your request.')
    const model = String(body.model ?? '')
    const prompt = Array.isArray(body.prompt)
      ? body.prompt.map(String).join('\n')
      : String(body.prompt ?? '')
    const g = generate(model, composeReply(prompt), countTokens(model, prompt), body)
    if (body.stream === true) {
      return streamEvents(c, textCompletionChunks(body, g, streamPieces(g.texts[0]!)), wordDelayMs)
    }
    return c.json(textCompletion(body, g))
  })

  app.post('/v1/responses', async (c) => {
    const body = await readBody(c)
    if (!body) return openAiError(c, 400, 'We could not parse the JSON body of your request.')
    const model = String(body.model ?? '')
    const instructions = typeof body.instructions === 'string' ? body.instructions : ''
    const input = typeof body.input === 'string' ? body.input : textOf(body.input)
    const prompt = countTokens(model, instructions) + countTokens(model, input) + 3
    const maxTokens = positiveInt(body.max_output_tokens)
    const g = generate(model, composeReply(input), prompt, { ...body, max_tokens: maxTokens, n: 1 })
    if (body.stream === true)
      return streamEvents(c, responseEvents(body, g, streamPieces(g.texts[0]!)), wordDelayMs)
    return c.json(responseObject(body, g.texts[0]!, g, `resp_${Date.now()}`))
  })

  app.post('/v1/embeddings', async (c) => {
    const body = await readBody(c)
    if (!body) return openAiError(c, 400, 'We could not parse the JSON body of your request.')
    const model = String(body.model ?? '')
    const inputs =
      Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input : [body.input]
    const dimensions = positiveInt(body.dimensions) ?? 1536
    let tokens = 0
    const data = inputs.map((input, index) => {
      const text = Array.isArray(input) ? input.join(' ') : String(input ?? '')
      tokens += Array.isArray(input) ? input.length : countTokens(model, text)
      const vector = embed(text, dimensions)
      return {
        object: 'embedding',
        index,
        embedding:
          body.encoding_format === 'base64'
            ? Buffer.from(vector.buffer).toString('base64')
            : Array.from(vector),
      }
    })
    return c.json({
      object: 'list',
      data,
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    })
  })

  app.notFound((c) =>
    openAiError(c, 404, `Unknown request URL: ${c.req.method} ${c.req.path}`, 'unknown_url'),
  )

  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port }, () =>
      resolve(started as Server),
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The reply cut to max_completion_tokens / max_tokens, n times (every choice is billed). */
function generate(model: string, reply: string, promptTokens: number, body: Body): Generated {
  const limit = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens)
  const cut = limitTokens(model, reply, limit)
  const n = positiveInt(body.n) ?? 1
  return {
    texts: Array.from({ length: n }, () => cut.text),
    promptTokens,
    completionTokens: cut.tokens * n,
    truncated: cut.truncated,
  }
}

/** SSE, one event per pull, a word's pause before each; stops when the client goes away. */
function streamEvents(c: Context, events: string[], wordDelayMs: number) {
  const encoder = new TextEncoder()
  let index = 0
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index >= events.length) return controller.close()
      if (index > 0 && wordDelayMs > 0) await new Promise((r) => setTimeout(r, wordDelayMs))
      controller.enqueue(encoder.encode(events[index++]))
    },
  })
  return c.body(stream, 200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  })
}

/** A unit vector drawn from the text's hash: the same text always embeds the same way. */
function embed(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions)
  let seed = createHash('sha256').update(text).digest().readUInt32LE(0) || 1
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    vector[i] = ((seed >>> 0) / 0xffffffff) * 2 - 1
    norm += vector[i]! * vector[i]!
  }
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < dimensions; i++) vector[i]! *= scale
  return vector
}

async function readBody(c: Context): Promise<Body | null> {
  try {
    const body = await c.req.json()
    return body && typeof body === 'object' ? (body as Body) : null
  } catch {
    return null
  }
}

function openAiError(
  c: Context,
  status: 400 | 401 | 404,
  message: string,
  code: string | null = null,
) {
  return c.json({ error: { message, type: 'invalid_request_error', code, param: null } }, status)
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}
