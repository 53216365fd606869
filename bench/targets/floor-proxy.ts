import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { type HttpBindings, serve } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono } from 'hono'
import { Pool } from 'undici'
import { type FloorLedger, openFloorLedger } from './floor-ledger.ts'

/**
 * The floor the gateway is measured against: the best bare pass-through the gateway's stack
 * allows (hono + @hono/node-server + an undici Pool), with no auth, no database, no metering.
 * It does what the gateway does to move bytes and nothing else:
 * - the request body is read from Node's request, and the upstream call is aborted when the
 *   client's response closes early, as src/pipeline/request/client-gone.ts does (touching hono's
 *   c.req.raw builds an undici Request over a Web stream, which the gateway avoids);
 * - a JSON answer is buffered and sent as bytes, as the gateway's jsonAnswer does (the old
 *   floor sent every answer through a ReadableStream: about twice the CPU of this one);
 * - a stream goes through the path the gateway's streams take, chosen by FLOOR_STREAM:
 *   `web`, a pull-based ReadableStream (highWaterMark 0) handed to @hono/node-server, or
 *   `node`, written to Node's response directly (RESPONSE_ALREADY_SENT tells hono it was).
 * With FLOOR_LEDGER (a SQLite file's path or a postgres:// URL) it is a `floor+ledger` target: the same, plus the
 * least a metering gateway must write per call (floor-ledger.ts), the request and the answer's
 * usage parsed as JSON, a stream's usage read from its last event.
 */
const upstream = new URL(process.env.UPSTREAM_BASE_URL ?? 'http://127.0.0.1:1/v1')
const basePath = upstream.pathname.replace(/\/$/, '')
const apiKey = process.env.UPSTREAM_API_KEY ?? 'bench'
const streamPath = process.env.FLOOR_STREAM === 'node' ? 'node' : 'web'
const ledger: FloorLedger | null = process.env.FLOOR_LEDGER
  ? await openFloorLedger(process.env.FLOOR_LEDGER)
  : null
const pool = new Pool(upstream.origin, {
  connections: Number(process.env.FLOOR_CONNECTIONS ?? 2048),
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
})

async function readBody(incoming: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of incoming as AsyncIterable<Buffer>) chunks.push(chunk)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/** Aborts when the client's response closes before it was finished. */
function clientGone(outgoing: ServerResponse): AbortSignal {
  const controller = new AbortController()
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort(new Error('Client connection closed'))
  })
  return controller.signal
}

/** Upstream bytes to the client as they come; pull waits for the client (backpressure). */
function webStream(body: Readable): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next()
        if (done) controller.close()
        else controller.enqueue(value as Uint8Array)
      },
      cancel() {
        body.destroy()
      },
    },
    { highWaterMark: 0 },
  )
}

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
}

/** The usage object of a JSON answer or of a stream's last event holding one. */
function usageIn(text: string): Usage {
  const at = text.lastIndexOf('data: {')
  const eol = at === -1 ? -1 : text.indexOf('\n', at)
  const json = at === -1 ? text : text.slice(at + 6, eol === -1 ? undefined : eol)
  try {
    return (JSON.parse(json) as { usage?: Usage }).usage ?? {}
  } catch {
    return {}
  }
}

/**
 * Upstream bytes written to Node's response, waiting for 'drain' when its buffer is full. Read
 * on 'readable' events, as the gateway's pump (src/pipeline/stream/stream-body.ts) reads: an answer
 * that arrived whole leaves in one writev with its end, where an async iterator costs a second
 * write (and a promise per chunk).
 */
function writeToNode(
  body: Readable,
  outgoing: ServerResponse,
  onEnd: (last: Buffer | undefined) => void = () => {},
): void {
  let last: Buffer | undefined
  let waiting = false
  const pump = () => {
    if (waiting || outgoing.destroyed) return
    while (true) {
      const chunk = body.read() as Buffer | null
      if (chunk === null) return
      last = chunk
      if (!outgoing.write(chunk)) {
        waiting = true
        outgoing.once('drain', () => {
          waiting = false
          pump()
        })
        return
      }
    }
  }
  body.on('readable', pump)
  body.once('end', () => {
    outgoing.end()
    onEnd(last)
  })
  // The client left (the abort destroyed the upstream body) or the upstream failed mid-stream.
  body.once('error', () => outgoing.destroy())
}

const app = new Hono<{ Bindings: HttpBindings }>()
app.post('/v1/*', async (c) => {
  const { incoming, outgoing } = c.env
  const body = await readBody(incoming)
  const metered = ledger ? await reserve(c.req.header('authorization') ?? '', body) : null
  const answer = await pool.request({
    method: 'POST',
    path: basePath + c.req.path.slice('/v1'.length),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body,
    signal: clientGone(outgoing),
  })
  const settle = (usage: Usage) =>
    metered &&
    ledger?.settle(
      metered.requestId,
      metered.userId,
      metered.model,
      usage.prompt_tokens ?? metered.tokens,
      usage.completion_tokens ?? 0,
    )
  const type = answer.headers['content-type']
  const headers: Record<string, string> = typeof type === 'string' ? { 'content-type': type } : {}
  if (typeof type === 'string' && type.startsWith('text/event-stream')) {
    if (streamPath === 'web') {
      return new Response(webStream(answer.body), { status: answer.statusCode, headers })
    }
    outgoing.writeHead(answer.statusCode, headers)
    writeToNode(answer.body, outgoing, (last) => settle(usageIn(last?.toString() ?? '')))
    return RESPONSE_ALREADY_SENT
  }
  const bytes = Buffer.from(await answer.body.arrayBuffer())
  const sent = c.body(bytes, answer.statusCode as 200, headers)
  if (metered) settle(usageIn(bytes.toString()))
  return sent
})

/** The request parsed (model), its tokens guessed from its size, and the reservation committed. */
async function reserve(authorization: string, body: Buffer) {
  const { model } = JSON.parse(body.toString()) as { model: string }
  const metered = {
    requestId: randomUUID(),
    userId: authorization,
    model,
    tokens: body.length >> 2,
  }
  await ledger?.reserve(metered.requestId, metered.userId, metered.tokens)
  return metered
}
app.get('/healthz', (c) => c.json({ status: 'ok' }))

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  if (process.send) process.send({ ready: true, port: info.port, streamPath })
  else
    process.stdout.write(`floor proxy on http://127.0.0.1:${info.port} (streams: ${streamPath})\n`)
})
process.on('SIGTERM', () => {
  server.close(
    () =>
      void pool.close().finally(() => {
        ledger?.close()
        process.exit(0)
      }),
  )
  if ('closeAllConnections' in server) server.closeAllConnections()
})
