import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type HttpBindings, serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import type { RecordedRequest } from './fake-upstream.ts'

/**
 * A fake Anthropic upstream: a real HTTP server on 127.0.0.1, port 0, speaking
 * the public Messages API: POST /v1/messages (JSON, or SSE with message_start,
 * content_block_start / _delta / _stop, ping, message_delta, message_stop),
 * POST /v1/messages/count_tokens, Anthropic's error envelope, and the headers
 * that describe the operator's account (request-id, anthropic-organization-id,
 * anthropic-ratelimit-*), which the gateway must never pass on. It records every
 * request and is steered per test with `behave()` or `once()`, as the OpenAI
 * fake (fake-upstream.ts) is.
 */
export type Block =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> }

export interface AnthropicUsage {
  input: number
  cacheWrite?: number
  cacheRead?: number
  output: number
}

export interface AnthropicBehavior {
  /** Answer this status with `errorBody` (default Anthropic's envelope for the status). */
  status?: number
  errorBody?: unknown
  headers?: Record<string, string>
  /** The answer's content (default one text block "Hello!"). */
  blocks?: Block[]
  /** Each text, thinking and tool input is streamed in this many deltas (default 2). */
  deltasPerBlock?: number
  usage?: AnthropicUsage
  /** message_delta carries only output_tokens (as Bedrock-backed streams do). */
  deltaOutputOnly?: boolean
  /** Stop sending (without closing) after this many content deltas. */
  hangAfterDeltas?: number
  /** Destroy the connection after this many content deltas. */
  resetAfterDeltas?: number
  /** Send Anthropic's mid-stream `event: error` (overloaded) after this many deltas, then close. */
  errorAfterDeltas?: number
  /** Awaited before each content delta: lets a test hold the stream. */
  beforeDelta?: (index: number) => Promise<void> | void
  /** The answer's container ({id}), as code execution returns it. */
  containerId?: string
  /** count_tokens: the count to answer (default 14), or 404 when `missing`. */
  countTokens?: number | 'missing'
}

/** The headers Anthropic sends that describe the operator's account: never for the client. */
export const ACCOUNT_HEADERS = {
  'request-id': 'req_011CVLotQepAqEAyhJpvkpZN',
  'anthropic-organization-id': '5f1a6a0e-0000-4000-8000-operator-org',
  'anthropic-workspace-id': 'wrkspc_operator',
  'anthropic-ratelimit-requests-limit': '4000',
  'anthropic-ratelimit-requests-remaining': '3999',
  'anthropic-ratelimit-tokens-remaining': '1999000',
  'anthropic-ratelimit-unified-status': 'allowed',
  'cf-ray': '8f0000000000-ARN',
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
}

export type FakeAnthropic = Awaited<ReturnType<typeof startFakeAnthropic>>

export async function startFakeAnthropic() {
  const requests: RecordedRequest[] = []
  const queue: AnthropicBehavior[] = []
  let standing: AnthropicBehavior = {}
  let release: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    release = resolve
  })

  const app = new Hono<{ Bindings: HttpBindings }>()
  app.use('*', async (c, next) => {
    const rawBytes = Buffer.from(
      c.req.method === 'GET' ? new ArrayBuffer(0) : await c.req.arrayBuffer(),
    )
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
    c.set('body' as never, (body ?? {}) as never)
    await next()
  })

  const next = () => ({ ...standing, ...queue.shift() })

  app.post('/v1/messages', (c) => {
    const behavior = next()
    const body = c.get('body' as never) as Record<string, unknown>
    const headers = { ...ACCOUNT_HEADERS, ...behavior.headers }
    if (behavior.status && behavior.status >= 400) return errorAnswer(c, behavior, headers)
    const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-6'
    if (body.stream === true) {
      return c.body(streamOf(c, model, behavior, closed), 200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      })
    }
    return c.json(messageOf(model, behavior), 200, headers)
  })

  // As Anthropic's API: the key and a version are required, and a page holds `limit` models (20 by default).
  app.get('/v1/models', (c) => {
    if (!c.req.header('x-api-key')) return errorAnswer(c, { status: 401 }, ACCOUNT_HEADERS)
    if (!c.req.header('anthropic-version')) return errorAnswer(c, { status: 400 }, ACCOUNT_HEADERS)
    const limit = Number(c.req.query('limit') ?? 20)
    const data = ANTHROPIC_MODELS.slice(0, limit).map((id, i) => ({
      type: 'model',
      id,
      display_name: id.replace(/^claude-/, 'Claude '),
      created_at: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
    }))
    return c.json(
      {
        data,
        has_more: limit < ANTHROPIC_MODELS.length,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
      },
      200,
      ACCOUNT_HEADERS,
    )
  })

  app.post('/v1/messages/count_tokens', (c) => {
    const behavior = next()
    if (behavior.status && behavior.status >= 400)
      return errorAnswer(c, behavior, { ...ACCOUNT_HEADERS, ...behavior.headers })
    if (behavior.countTokens === 'missing') return errorAnswer(c, { status: 404 }, ACCOUNT_HEADERS)
    return c.json({ input_tokens: behavior.countTokens ?? 14 }, 200, ACCOUNT_HEADERS)
  })

  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    requestsTo: (path: string) => requests.filter((r) => r.path.split('?')[0] === path),
    behave(behavior: AnthropicBehavior) {
      standing = behavior
    },
    once(behavior: AnthropicBehavior) {
      queue.push(behavior)
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

function errorAnswer(
  c: Context<{ Bindings: HttpBindings }>,
  behavior: AnthropicBehavior,
  headers: Record<string, string>,
) {
  const status = behavior.status ?? 500
  const error = behavior.errorBody ?? {
    type: 'error',
    error: { type: ERROR_TYPES[status] ?? 'api_error', message: `fake anthropic says ${status}` },
    request_id: ACCOUNT_HEADERS['request-id'],
  }
  const extra: Record<string, string> = status === 429 ? { 'retry-after': '30' } : {}
  return c.json(error as object, status as 400, { ...headers, ...extra })
}

/** What the fake lists: more than one default page, so a gateway that asks for one page misses some. */
export const ANTHROPIC_MODELS = [
  ...Array.from({ length: 24 }, (_, i) => `claude-old-${i + 1}`),
  'claude-haiku-4-5',
  'claude-sonnet-4-6',
]

const DEFAULT_BLOCKS: Block[] = [{ type: 'text', text: 'Hello!' }]
const SIGNATURE = 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrk'

/** The usage object, with the cache classes and their 5-minute split, as the API reports it. */
export function usageObject(usage: AnthropicUsage, output = usage.output) {
  const cacheWrite = usage.cacheWrite ?? 0
  return {
    input_tokens: usage.input,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: usage.cacheRead ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: 'standard',
  }
}

const usageOf = (behavior: AnthropicBehavior): AnthropicUsage =>
  behavior.usage ?? { input: 12, output: 7 }

function contentOf(block: Block, index: number) {
  if (block.type === 'thinking') return { ...block, signature: block.signature ?? SIGNATURE }
  if (block.type === 'tool_use') return { id: block.id ?? `toolu_fake${index}`, ...block }
  return block
}

function messageOf(model: string, behavior: AnthropicBehavior) {
  const blocks = behavior.blocks ?? DEFAULT_BLOCKS
  const toolUse = blocks.some((b) => b.type === 'tool_use')
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model,
    content: blocks.map(contentOf),
    stop_reason: toolUse ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    stop_details: null,
    container: behavior.containerId
      ? { id: behavior.containerId, expires_at: '2026-01-16T12:00:00Z' }
      : null,
    usage: usageObject(usageOf(behavior)),
  }
}

/** `event: <type>\ndata: <json>\n\n`, as Anthropic frames every event. */
function sse(data: { type: string }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Splits a string into `parts` pieces (the last takes the rest). */
function pieces(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts))
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length ? out : ['']
}

/** Every event of a streamed answer; `delta: true` marks the content deltas a test may stop at. */
function* streamEvents(model: string, behavior: AnthropicBehavior) {
  const usage = usageOf(behavior)
  const blocks = behavior.blocks ?? DEFAULT_BLOCKS
  const parts = behavior.deltasPerBlock ?? 2
  const message = { ...messageOf(model, behavior), content: [], stop_reason: null }
  message.usage = usageObject(usage, 1)
  yield { text: sse({ type: 'message_start', message } as never), delta: false }
  for (let index = 0; index < blocks.length; index++) {
    const block = blocks[index]!
    const start =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : block.type === 'thinking'
          ? { type: 'thinking', thinking: '', signature: '' }
          : { type: 'tool_use', id: block.id ?? `toolu_fake${index}`, name: block.name, input: {} }
    yield {
      text: sse({ type: 'content_block_start', index, content_block: start } as never),
      delta: false,
    }
    if (index === 0) yield { text: sse({ type: 'ping' }), delta: false }
    const deltas =
      block.type === 'text'
        ? pieces(block.text, parts).map((text) => ({ type: 'text_delta', text }))
        : block.type === 'thinking'
          ? pieces(block.thinking, parts).map((thinking) => ({ type: 'thinking_delta', thinking }))
          : ['', ...pieces(JSON.stringify(block.input), parts)].map((partial_json) => ({
              type: 'input_json_delta',
              partial_json,
            }))
    for (const delta of deltas)
      yield { text: sse({ type: 'content_block_delta', index, delta } as never), delta: true }
    if (block.type === 'thinking') {
      const delta = { type: 'signature_delta', signature: block.signature ?? SIGNATURE }
      yield { text: sse({ type: 'content_block_delta', index, delta } as never), delta: false }
    }
    yield { text: sse({ type: 'content_block_stop', index } as never), delta: false }
  }
  const final = behavior.deltaOutputOnly
    ? { output_tokens: usage.output }
    : {
        input_tokens: usage.input,
        cache_creation_input_tokens: usage.cacheWrite ?? 0,
        cache_read_input_tokens: usage.cacheRead ?? 0,
        output_tokens: usage.output,
      }
  const toolUse = blocks.some((b) => b.type === 'tool_use')
  const stop = {
    stop_reason: toolUse ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    stop_details: null,
    container: behavior.containerId
      ? { id: behavior.containerId, expires_at: '2026-01-16T12:00:00Z' }
      : null,
  }
  yield { text: sse({ type: 'message_delta', delta: stop, usage: final } as never), delta: false }
  yield { text: sse({ type: 'message_stop' }), delta: false }
}

function streamOf(
  c: Context<{ Bindings: HttpBindings }>,
  model: string,
  behavior: AnthropicBehavior,
  closed: Promise<void>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const events = streamEvents(model, behavior)
  let sent = 0
  return new ReadableStream({
    async pull(controller) {
      const next = events.next()
      if (next.done) return controller.close()
      if (next.value.delta) {
        if (behavior.errorAfterDeltas !== undefined && sent >= behavior.errorAfterDeltas) {
          const error = {
            type: 'error',
            error: { type: 'overloaded_error', message: 'Overloaded' },
          }
          controller.enqueue(encoder.encode(sse(error)))
          return controller.close()
        }
        if (behavior.resetAfterDeltas !== undefined && sent >= behavior.resetAfterDeltas) {
          await new Promise((resolve) => setTimeout(resolve, 20)) // let the deltas already written leave
          c.env.incoming.socket.destroy()
          return
        }
        if (behavior.hangAfterDeltas !== undefined && sent >= behavior.hangAfterDeltas) await closed
        await behavior.beforeDelta?.(sent)
        sent++
      }
      controller.enqueue(encoder.encode(next.value.text))
    },
    cancel() {
      c.env.incoming.socket.destroy()
    },
  })
}
