import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A fast OpenAI-compatible upstream for the benchmark, on node:http directly so that its own cost
 * stays small next to the proxies under test. The model name picks the behaviour, because the
 * gateway forwards the body as received and routes every model to the one default upstream:
 *   any model      instant answer (non-stream JSON, or MOCK_CHUNKS SSE chunks written at once)
 *   *-paced        SSE chunks MOCK_PACED_GAP_MS apart (checks the proxy does not buffer)
 *   *-slow         SSE held open, a chunk every MOCK_SLOW_TICK_MS, until POST /_mock/release
 * Started by bench/run.ts with an IPC channel: it listens on 127.0.0.1 port 0 and sends its port.
 *
 * Not the tests' fake (test/helpers/fake-upstream.ts) nor the demo's (src/demo/upstream/): both
 * are Hono apps, the tests' one records every request and the demo's counts real tokens. Measured
 * under the same load (autocannon, 16 connections), this one spends 35 µs of CPU on a JSON answer
 * and 98 µs on a 20-chunk stream; the tests' 277 and 524 µs, the demo's 290 and 607 µs. On a
 * 2-core bench that CPU is taken from the gateway under test.
 */
const CHUNKS = Number(process.env.MOCK_CHUNKS ?? 20)
const PACED_GAP_MS = Number(process.env.MOCK_PACED_GAP_MS ?? 5)
const SLOW_TICK_MS = Number(process.env.MOCK_SLOW_TICK_MS ?? 1000)
/** A slow stream never outlives this, so a lost release cannot leak sockets. */
const SLOW_MAX_MS = 120_000

const CREATED = Math.floor(Date.now() / 1000)
const slowStreams = new Set<() => void>()
let served = 0

function completion(id: number, model: string, promptTokens: number): string {
  return JSON.stringify({
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! This is a benchmark answer.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: 9, total_tokens: promptTokens + 9 },
  })
}

function chunk(id: number, model: string, delta: object, finish: string | null = null): string {
  const choices = [{ index: 0, delta, finish_reason: finish }]
  return `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: CREATED, model, choices })}\n\n`
}

function usageChunk(id: number, model: string, promptTokens: number, completion: number): string {
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
  }
  return `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage })}\n\n`
}

interface ChatBody {
  model?: string
  stream?: boolean
  stream_options?: { include_usage?: boolean }
}

function streamAnswer(res: ServerResponse, body: ChatBody, promptTokens: number): void {
  const id = ++served
  const model = body.model ?? 'mock'
  const withUsage = body.stream_options?.include_usage === true
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.write(chunk(id, model, { role: 'assistant', content: '' }))
  let sent = 0
  const finish = () => {
    res.write(chunk(id, model, {}, 'stop'))
    if (withUsage) res.write(usageChunk(id, model, promptTokens, sent))
    res.end('data: [DONE]\n\n')
  }
  const next = () => res.write(chunk(id, model, { content: ` word${sent++}` }))

  if (model.endsWith('-slow')) {
    const timer = setInterval(next, SLOW_TICK_MS)
    const release = () => {
      clearInterval(timer)
      clearTimeout(guard)
      slowStreams.delete(release)
      if (!res.destroyed) finish()
    }
    const guard = setTimeout(release, SLOW_MAX_MS)
    slowStreams.add(release)
    res.on('close', () => {
      clearInterval(timer)
      clearTimeout(guard)
      slowStreams.delete(release)
    })
    return
  }
  if (model.endsWith('-paced')) {
    const timer = setInterval(() => {
      if (sent < CHUNKS && !res.destroyed) return void next()
      clearInterval(timer)
      if (!res.destroyed) finish()
    }, PACED_GAP_MS)
    return
  }
  while (sent < CHUNKS) next()
  finish()
}

function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
  const url = req.url ?? '/'
  if (url === '/_mock/release') {
    const count = slowStreams.size
    for (const release of [...slowStreams]) release()
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(`{"released":${count}}`)
  }
  if (url === '/_mock/stats') {
    const stats = JSON.stringify({ served, open_slow: slowStreams.size })
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(stats)
  }
  if (req.method === 'GET' && url.endsWith('/models')) {
    const models = { object: 'list', data: [{ id: 'mock', object: 'model', owned_by: 'bench' }] }
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(models))
  }
  if (req.method !== 'POST' || !url.endsWith('/chat/completions')) {
    return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{}}')
  }
  const body = JSON.parse(raw.toString('utf8')) as ChatBody
  // A rough count is enough: the bench user's plan is unlimited, only the work matters.
  const promptTokens = Math.ceil(raw.length / 4)
  if (body.stream) return void streamAnswer(res, body, promptTokens)
  const text = completion(++served, body.model ?? 'mock', promptTokens)
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

// A short keep-alive: the proxies' pools drop idle upstream sockets within seconds after the
// 1,000-stream scenario, so the heap read after it shows what the streams left, not the pool.
const server = createServer({ noDelay: true, keepAliveTimeout: 3000 }, (req, res) => {
  const parts: Buffer[] = []
  req.on('data', (part: Buffer) => parts.push(part))
  req.on('end', () => {
    try {
      handle(req, res, parts.length === 1 ? parts[0]! : Buffer.concat(parts))
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: String(error), type: 'invalid_request_error' } }))
    }
  })
})
// Slow streams are held far longer than node's default request timeout allows.
server.requestTimeout = 0
server.headersTimeout = 60_000
server.maxConnections = 10_000

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  if (process.send) process.send({ ready: true, port })
  else process.stdout.write(`mock upstream on http://127.0.0.1:${port}/v1\n`)
})
process.on('SIGTERM', () => {
  for (const release of [...slowStreams]) release()
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
