import { createServer, request, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { openClientStream } from '../../src/pipeline/stream/client-stream.ts'
import {
  type MeteredStreamOptions,
  pumpMeteredStream,
} from '../../src/pipeline/stream/stream-body.ts'

/*
 * The pump between undici's body and Node's response, on a real socket. What
 * the integration tests cannot see: how many socket writes a stream costs, and
 * that a bug thrown from the body's events rejects the pump (the proxy then
 * ends the reservation) instead of escaping as an uncaught exception.
 */
let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)))
  server = undefined
})

const EVENTS = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n', 'data: [DONE]\n\n']
const passThrough = { push: (chunk: Buffer) => chunk, end: () => Buffer.alloc(0) }

/**
 * A body that gets the whole answer at once, later, as undici's does when it
 * arrives in one socket read: every chunk, then the end, in one callback.
 */
function wholeBody(): Readable {
  const body = new Readable({ read() {} })
  setImmediate(() => {
    for (const event of EVENTS) body.push(Buffer.from(event))
    body.push(null)
  })
  return body
}

/** Serves one stream through openClientStream + pumpMeteredStream to a client that reads it all. */
async function serve(
  options: (outgoing: ServerResponse) => Partial<MeteredStreamOptions>,
  onSocketWrite?: (count: number) => void,
): Promise<{ text: Promise<string>; pumped: Promise<string> }> {
  let pumpedNow!: (result: Promise<string>) => void
  const pumped = new Promise<Promise<string>>((resolve) => {
    pumpedNow = resolve
  }).then((result) => result)
  server = createServer((incoming, outgoing) => {
    const socket = outgoing.socket as unknown as Record<string, (...args: unknown[]) => unknown>
    let writes = 0
    for (const method of ['_writev', '_write']) {
      const original = socket[method]!.bind(socket)
      socket[method] = (...args: unknown[]) => {
        onSocketWrite?.(++writes)
        return original(...args)
      }
    }
    const connection = { node: { incoming, outgoing }, web: new Request('http://127.0.0.1/') }
    const headers = { 'content-type': 'text/event-stream' }
    const { sink } = openClientStream(connection, 'req-1', 200, headers, true)
    const pump = pumpMeteredStream({
      body: wholeBody(),
      meter: passThrough,
      sink,
      onEnd() {},
      onFailure: () => Buffer.alloc(0),
      onClientGone() {},
      drainTimeoutMs: null,
      ...options(outgoing),
    })
    pumpedNow(
      pump.then(
        () => 'resolved',
        (error: Error) => `rejected: ${error.message}`,
      ),
    )
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const text = new Promise<string>((resolve) => {
    request({ port, host: '127.0.0.1', method: 'POST' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (part: string) => {
        body += part
      })
      res.on('end', () => resolve(body))
      res.on('error', () => resolve(body))
    })
      .on('error', () => resolve('(connection closed)'))
      .end()
  })
  return { text, pumped }
}

describe('stream pump on a socket', () => {
  it('sends an answer that arrived whole (headers, chunks, chunked terminator) in one socket write', async () => {
    let socketWrites = 0
    const { text, pumped } = await serve(
      () => ({}),
      (count) => {
        socketWrites = count
      },
    )
    expect(await text).toBe(EVENTS.join(''))
    expect(await pumped).toBe('resolved')
    expect(socketWrites).toBe(1)
  })

  it('rejects when the gateway throws while metering, so the caller still ends the reservation', async () => {
    const throwing = {
      push: (): Buffer => {
        throw new Error('meter bug')
      },
      end: () => Buffer.alloc(0),
    }
    const { pumped } = await serve(() => ({ meter: throwing }))
    expect(await Promise.race([pumped, timeout(2000)])).toBe('rejected: meter bug')
  })
})

function timeout(ms: number): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve('timed out'), ms).unref())
}
