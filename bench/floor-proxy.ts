import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Pool } from 'undici'

/**
 * The floor the gateway is measured against: the barest useful proxy on the same stack
 * (hono + @hono/node-server + an undici Pool), with no auth, no database and no metering.
 * Whatever the gateway costs beyond this is the price of its own work.
 * The upstream body goes back through a pull-based ReadableStream: Readable.toWeb() kills
 * the process on Node 20 when a client disconnects mid-stream (ARCHITECTURE.md, pitfalls).
 */
const upstream = new URL(process.env.UPSTREAM_BASE_URL ?? 'http://127.0.0.1:1/v1')
const basePath = upstream.pathname.replace(/\/$/, '')
const apiKey = process.env.UPSTREAM_API_KEY ?? 'bench'
const pool = new Pool(upstream.origin, {
  connections: Number(process.env.FLOOR_CONNECTIONS ?? 2048),
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
})

type UndiciBody = Awaited<ReturnType<Pool['request']>>['body']

function pullStream(body: UndiciBody): ReadableStream<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next()
        if (done) controller.close()
        else controller.enqueue(value as Uint8Array)
      } catch (error) {
        controller.error(error)
      }
    },
    cancel() {
      body.destroy()
    },
  })
}

const app = new Hono()
app.post('/v1/*', async (c) => {
  const body = Buffer.from(await c.req.arrayBuffer())
  const answer = await pool.request({
    method: 'POST',
    path: basePath + c.req.path.slice('/v1'.length),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body,
    signal: c.req.raw.signal,
  })
  const type = answer.headers['content-type']
  return new Response(pullStream(answer.body), {
    status: answer.statusCode,
    headers: typeof type === 'string' ? { 'content-type': type } : {},
  })
})
app.get('/healthz', (c) => c.json({ status: 'ok' }))

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  if (process.send) process.send({ ready: true, port: info.port })
  else process.stdout.write(`floor proxy on http://127.0.0.1:${info.port}\n`)
})
process.on('SIGTERM', () => {
  server.close(() => void pool.close().finally(() => process.exit(0)))
  if ('closeAllConnections' in server) server.closeAllConnections()
})
