import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * A stream is written to Node's response directly on a socket, and through a
 * ReadableStream adapter under app.request() (src/pipeline/stream/client-stream.ts):
 * both give the client the same bytes and bill the same, and a client that
 * does not read holds the upstream back (backpressure), on a socket as well.
 */
let f: ProxyFixture | undefined
let h: Harness | undefined
let slowUpstream: Server | undefined
afterEach(async () => {
  await f?.close()
  await h?.close()
  slowUpstream?.closeAllConnections()
  await new Promise((resolve) => (slowUpstream ? slowUpstream.close(resolve) : resolve(null)))
  f = h = slowUpstream = undefined
})

const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Stream to me, both ways' }],
  stream: true,
}

describe(`stream paths (${TEST_DIALECT})`, () => {
  it('the socket path and the app.request() adapter give the same bytes, usage chunk removed, and bill the same', async () => {
    f = await startProxyFixture()
    const bodies: string[] = []
    const headers: Headers[] = []
    for (const [user, viaSocket] of [
      ['via-socket', true],
      ['via-adapter', false],
    ] as const) {
      f.upstream.once({ chunks: 7, usage: { input: 12, output: 7 } })
      const init = {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await f.token(user)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(chat),
      }
      const response = viaSocket
        ? await fetch(`${f.base}/v1/chat/completions`, init)
        : await f.h.request('/v1/chat/completions', init)
      expect(response.status).toBe(200)
      headers.push(response.headers)
      bodies.push(await response.text())
    }
    // The gateway asked for the usage chunk on the client's behalf and removed it.
    expect(f.upstream.requests.every((r) => JSON.stringify(r.body).includes('include_usage'))).toBe(
      true,
    )
    expect(bodies[0]).not.toContain('"usage"')
    expect(bodies[0]).toContain('data: [DONE]\n\n')
    expect(bodies[1]).toBe(bodies[0])
    for (const h of headers) {
      expect(h.get('content-type')).toContain('text/event-stream')
      expect(h.get('x-request-id')).toBeTruthy()
      expect(h.get('x-quota-remaining-requests')).toBeTruthy()
    }
    const socket = await f.ledger('via-socket')
    const adapter = await f.ledger('via-adapter')
    expect(socket.used).toEqual({ requests: 1, tokens_input: 12, tokens_output: 7 })
    expect(adapter.used).toEqual(socket.used)
    expect(adapter.reservations + socket.reservations).toBe(0)
  })

  it('a client that stops reading through app.request() is billed what it read once it cancels', async () => {
    f = await startProxyFixture({ config: { quota: { disconnectPolicy: 'cancel' } } })
    f.upstream.once({ chunks: 3, hangAfterChunks: 1 })
    const response = await f.h.request('/v1/chat/completions', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await f.token('leaver')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(chat),
    })
    const reader = response.body!.getReader()
    let text = ''
    while (!text.includes('Hello')) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    const state = await f.settled('leaver')
    expect(state.reservations).toBe(0)
    expect(state.used.requests).toBe(1)
    expect(state.used.tokens_output).toBeGreaterThan(0)
  })

  it('on a socket, a client that does not read holds the upstream back; once it reads, every byte arrives', async () => {
    // An upstream that writes 48 MB of SSE as fast as its socket takes it (it waits for 'drain').
    const EVENT = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'x'.repeat(64 * 1024) } }] })}\n\n`
    const EVENTS = 768
    let written = 0
    slowUpstream = createServer((_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let i = 0
      const pump = () => {
        while (i < EVENTS) {
          i++
          written += EVENT.length
          if (!res.write(EVENT)) return void res.once('drain', pump)
        }
        res.end(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } })}\n\ndata: [DONE]\n\n`,
        )
      }
      pump()
    })
    await new Promise<void>((resolve) => slowUpstream!.listen(0, '127.0.0.1', resolve))
    const upstreamUrl = `http://127.0.0.1:${(slowUpstream.address() as AddressInfo).port}/v1`
    h = await createHarness({
      env: { UPSTREAM_BASE_URL: upstreamUrl, UPSTREAM_API_KEY: 'sk-upstream-backpressure' },
      config: {
        plans: [
          {
            id: 'test',
            name: 'Test',
            price: 0,
            quotas: { requests: 100, tokens_input: 1_000_000, tokens_output: 1_000_000 },
            features: ['gpt4_access', 'gpt35_access'],
          },
        ],
        billing: { defaultPlanId: 'test' },
      },
    })
    const base = await h.listen()
    const token = await h.token({ sub: 'slow-reader' })
    const url = new URL(`${base}/v1/chat/completions`)
    const total = EVENTS * EVENT.length
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        },
        resolve,
      )
      req.once('error', reject)
      req.end(JSON.stringify(chat))
    })
    expect(response.statusCode).toBe(200)
    response.pause()
    // Nothing reads: what the upstream can write is bounded by the socket buffers on the way.
    let before = -1
    for (let i = 0; i < 50 && written !== before; i++) {
      before = written
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(
      written,
      `upstream wrote ${written} of ${total} bytes to a client that read nothing`,
    ).toBeLessThan(total / 2)
    let received = 0
    response.on('data', (chunk: Buffer) => {
      received += chunk.length
    })
    response.resume()
    await new Promise((resolve) => response.once('end', resolve))
    expect(written).toBe(total)
    expect(received).toBeGreaterThan(total)
  }, 90_000)
})
