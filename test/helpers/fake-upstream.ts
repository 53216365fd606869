import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type HttpBindings, serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import {
  chatAnswer,
  completionAnswer,
  embeddingsAnswer,
  responsesAnswer,
} from './fake-upstream.answers.ts'
import { realisticPromptTokens } from './fake-upstream.billing.ts'
import { chatEvents, completionEvents, responsesEvents } from './fake-upstream.events.ts'
import { addMediaRoutes } from './fake-upstream.media.ts'

/**
 * A fake OpenAI-compatible upstream: a real HTTP server on 127.0.0.1, port 0,
 * speaking OpenAI's wire format for /v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models and /v1/responses (JSON and SSE). It records every
 * request and is steered per test with `behave()` (every request) or `once()`
 * (the next request only).
 *
 * One of three OpenAI stand-ins, each kept for its reader: this one serves the
 * tests' switches (failures, hangs, odd usage) and records; the demo's
 * (src/demo/upstream/) is product code, which never imports test code nor should
 * grow test switches; the bench's (bench/targets/mock-upstream.ts) must cost next
 * to nothing beside the gateway it measures (this one uses ~8x its CPU a request).
 */
export interface Behavior {
  /** Answer with this status (>= 400 sends `errorBody`, default an OpenAI error envelope). */
  status?: number
  errorBody?: unknown
  /** Wait this long before sending the headers. */
  latencyMs?: number
  /** Never send the headers (until the server closes). */
  hang?: boolean
  /** Destroy the connection before any headers. */
  reset?: boolean
  /** The answer's text; a stream splits it into `chunks` content events. */
  text?: string
  chunks?: number
  chunkDelayMs?: number
  /** Awaited before each content event: lets a test hold the stream between two chunks. */
  beforeChunk?: (index: number) => Promise<void> | void
  /** Stop sending (without closing) after this many content events. */
  hangAfterChunks?: number
  /** Destroy the connection after this many content events. */
  resetAfterChunks?: number
  /** Send no usage at all (no usage chunk even when asked, no `usage` in JSON answers). */
  omitUsage?: boolean
  /** Token counts reported as usage (default 12 in, 7 out). */
  usage?: { input: number; output: number }
  /** Send this object verbatim as `usage` (for malformed or absurd usage). */
  rawUsage?: unknown
  /** Extra answer headers (e.g. the account headers OpenAI sends: x-ratelimit-*, set-cookie). */
  headers?: Record<string, string>
  /**
   * Report the prompt tokens OpenAI would count for this request (fake-upstream.billing.ts:
   * the real tokenizer over every string, images, audio and files by their rules) instead of
   * `usage.input`; recorded as `promptTokens` even when `omitUsage` hides it from the gateway.
   */
  realisticUsage?: boolean
  /** Fields added to a JSON answer after its usage (an upstream that echoes content). */
  trailingFields?: Record<string, unknown>
  /**
   * Answer with one function call instead of text (chat: `tool_calls`, Responses: a
   * `function_call` item); a stream splits the arguments into `chunks` deltas.
   */
  toolCall?: { name: string; arguments: string }
  /**
   * Answer with audio (chat, stream: the API streams pcm16): each content event carries a
   * piece of the transcript (the answer's text) and this many bytes of audio data.
   */
  audioBytesPerChunk?: number
  /** Responses streams: the response's id (default resp_fake). */
  responseId?: string
  /** Chat: answer with audio of this id (the message's `audio`, a stream's first delta). */
  audioId?: string
  /** Transcriptions with whisper-1: the seconds usage reports (fake-upstream.media.ts). */
  seconds?: number
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string>
  rawBody: string
  /** The body's bytes as received (a multipart body's files are binary). */
  rawBytes: Buffer
  body: Record<string, unknown> | null
  /** Set when the caller went away before the answer ended (the gateway aborted upstream). */
  aborted: boolean
  /** The realistic prompt count (Behavior.realisticUsage), whether or not it was reported. */
  promptTokens?: number
}

export type FakeUpstream = Awaited<ReturnType<typeof startFakeUpstream>>

export async function startFakeUpstream(options: { models?: string[] } = {}) {
  const requests: RecordedRequest[] = []
  const queue: Behavior[] = []
  let standing: Behavior = {}
  const state = { models: options.models ?? ['gpt-4o-mini', 'gpt-4o', 'gpt-3.5-turbo', 'llama-3'] }
  let release: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    release = resolve
  })

  const app = new Hono<{ Bindings: HttpBindings }>()
  app.use('*', async (c, next) => {
    const rawBytes =
      c.req.method === 'GET' ? Buffer.alloc(0) : Buffer.from(await c.req.arrayBuffer())
    const rawBody = rawBytes.toString('utf8')
    let body: Record<string, unknown> | null = null
    try {
      body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : null
    } catch {}
    const url = new URL(c.req.url)
    const record: RecordedRequest = {
      method: c.req.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(c.req.raw.headers),
      rawBody,
      rawBytes,
      body,
      aborted: false,
    }
    requests.push(record)
    c.req.raw.signal.addEventListener('abort', () => {
      record.aborted = true
    })
    c.set('body' as never, body as never)
    c.set('record' as never, record as never)
    await next()
  })

  const handle = (kind: Kind) => async (c: Context<{ Bindings: HttpBindings }>) => {
    const behavior = { ...standing, ...queue.shift() }
    const body = (c.get('body' as never) ?? {}) as Record<string, unknown>
    if (behavior.latencyMs) await sleep(behavior.latencyMs)
    if (behavior.hang) await closed
    if (behavior.reset) {
      c.env.incoming.socket.destroy()
      return c.body(null)
    }
    const headers = {
      'x-request-id': `upstream-${requests.length}`,
      'openai-organization': 'org-secret',
      ...behavior.headers,
    }
    if (behavior.status && behavior.status >= 400) {
      const error = behavior.errorBody ?? {
        error: {
          message: `fake upstream says ${behavior.status}`,
          type: 'invalid_request_error',
          code: 'fake',
          param: null,
        },
      }
      return c.json(error as object, behavior.status as 400, headers)
    }
    if (behavior.realisticUsage) {
      const record = c.get('record' as never) as RecordedRequest
      record.promptTokens = realisticPromptTokens(kind, body)
      behavior.usage = { input: record.promptTokens, output: behavior.usage?.output ?? 7 }
    }
    const usage = usageOf(behavior, kind)
    if (body.stream === true && kind !== 'embeddings') {
      const events =
        kind === 'chat' ? chatEvents : kind === 'completions' ? completionEvents : responsesEvents
      const stream = sseStream(events(body, behavior, usage), behavior, c, closed)
      return c.body(stream, 200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      })
    }
    const answer =
      kind === 'chat'
        ? chatAnswer
        : kind === 'completions'
          ? completionAnswer
          : kind === 'embeddings'
            ? embeddingsAnswer
            : responsesAnswer
    return c.json({ ...answer(body, behavior, usage), ...behavior.trailingFields }, 200, headers)
  }

  app.post('/v1/chat/completions', handle('chat'))
  app.post('/v1/completions', handle('completions'))
  app.post('/v1/embeddings', handle('embeddings'))
  app.post('/v1/responses', handle('responses'))
  // Images, audio and moderations answer as OpenAI does (fake-upstream.media.ts).
  addMediaRoutes(app, () => ({ ...standing, ...queue.shift() }), closed)
  app.get('/v1/models', async (c) => {
    const behavior = { ...standing, ...queue.shift() }
    if (behavior.latencyMs) await sleep(behavior.latencyMs)
    if (behavior.status && behavior.status >= 400)
      return c.json({ error: { message: 'models down' } }, behavior.status as 500)
    return c.json({
      object: 'list',
      data: state.models.map((id) => ({
        id,
        object: 'model',
        created: 1_700_000_000,
        owned_by: 'fake',
      })),
    })
  })

  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    /** Requests to one endpoint path (e.g. '/v1/chat/completions'). */
    requestsTo: (path: string) => requests.filter((r) => r.path === path),
    behave(behavior: Behavior) {
      standing = behavior
    },
    once(behavior: Behavior) {
      queue.push(behavior)
    },
    setModels(models: string[]) {
      state.models = models
    },
    reset() {
      requests.length = 0
      queue.length = 0
      standing = {}
    },
    async close() {
      release()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type Kind = 'chat' | 'completions' | 'embeddings' | 'responses'

export interface UsageNumbers {
  input: number
  output: number
  raw: unknown
}

function usageOf(behavior: Behavior, kind: Kind): UsageNumbers | null {
  if (behavior.omitUsage) return null
  const input = behavior.usage?.input ?? 12
  const output = kind === 'embeddings' ? 0 : (behavior.usage?.output ?? 7)
  const raw =
    behavior.rawUsage ??
    (kind === 'responses'
      ? {
          input_tokens: input,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: input + output,
        }
      : kind === 'embeddings'
        ? { prompt_tokens: input, total_tokens: input }
        : { prompt_tokens: input, completion_tokens: output, total_tokens: input + output })
  return { input, output, raw }
}

/** SSE body from an event generator, honouring delays, holds and resets between content events. */
function sseStream(
  events: Generator<{ text: string; content: boolean }>,
  behavior: Behavior,
  c: Context<{ Bindings: HttpBindings }>,
  closed: Promise<void>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let sent = 0
  return new ReadableStream({
    async pull(controller) {
      const next = events.next()
      if (next.done) return controller.close()
      if (next.value.content) {
        if (behavior.resetAfterChunks !== undefined && sent >= behavior.resetAfterChunks) {
          await sleep(20) // let the chunks already written leave before the reset
          c.env.incoming.socket.destroy()
          return
        }
        if (behavior.hangAfterChunks !== undefined && sent >= behavior.hangAfterChunks) await closed
        if (behavior.chunkDelayMs && sent > 0) await sleep(behavior.chunkDelayMs)
        await behavior.beforeChunk?.(sent)
        sent++
      }
      controller.enqueue(encoder.encode(next.value.text))
    },
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
