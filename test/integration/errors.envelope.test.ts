import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb } from '../../db/client.ts'
import { createApp } from '../../src/app.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'

const ADMIN_ROUTE = '/api/v1/billing/admin/transactions/no-such-transaction/refund'
const BODY_LIMIT = 1024

/** Every error is exactly {"error": {message, type, code, param}} with an x-request-id header. */
async function expectEnvelope(res: Response, status: number, type: string, code: string) {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type'), text).toMatch(/^application\/json/)
  expect(res.headers.get('x-request-id'), text).toMatch(/^[\w.:-]{8,128}$/)
  const body = JSON.parse(text)
  expect(Object.keys(body), text).toEqual(['error'])
  expect(body.error, text).toEqual({
    message: expect.any(String),
    type,
    code,
    param: body.error.param === null ? null : expect.any(String),
  })
  expect(body.error.message.length, text).toBeGreaterThan(0)
  return body.error as { message: string; type: string; code: string; param: string | null }
}

describe('the one error envelope', () => {
  let h: Harness
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await h?.close()
  })

  it('400 for malformed JSON', async () => {
    h = await createHarness()
    const res = await h.request('/api/v1/keys', {
      method: 'POST',
      headers: { ...h.auth(await h.token({ sub: 'alice' })), 'content-type': 'application/json' },
      body: '{"name": "unterminated',
    })
    await expectEnvelope(res, 400, 'invalid_request_error', 'invalid_json')
  })

  it('400 naming each bad field when validation fails', async () => {
    h = await createHarness()
    const res = await h.json('POST', '/api/v1/keys', { name: '' }, await h.token({ sub: 'alice' }))
    const error = await expectEnvelope(res, 400, 'invalid_request_error', 'validation_failed')
    expect(error.param).toContain('name')
    expect(error.message).toContain('name')
  })

  it('401 without credentials', async () => {
    h = await createHarness()
    const res = await h.request('/api/v1/keys')
    await expectEnvelope(res, 401, 'invalid_request_error', 'missing_credentials')
  })

  it('403 for a user on an admin route', async () => {
    h = await createHarness()
    const res = await h.json('POST', ADMIN_ROUTE, {}, await h.token({ sub: 'alice' }))
    await expectEnvelope(res, 403, 'permission_error', 'permission_denied')
  })

  it('404 for an unknown route, public or not', async () => {
    h = await createHarness()
    await expectEnvelope(await h.request('/no/such/route'), 404, 'not_found_error', 'not_found')
    await expectEnvelope(
      await h.json('POST', '/api/v1/nothing-here', { a: 1 }),
      404,
      'not_found_error',
      'not_found',
    )
  })

  it('echoes a sane incoming x-request-id and replaces an insane one', async () => {
    h = await createHarness()
    const kept = await h.request('/no/such/route', { headers: { 'x-request-id': 'client-id-123' } })
    expect(kept.headers.get('x-request-id')).toBe('client-id-123')
    const replaced = await h.request('/no/such/route', {
      headers: { 'x-request-id': 'bad id\twith "quotes"' },
    })
    expect(replaced.headers.get('x-request-id')).toMatch(/^[\w.:-]+$/)
  })

  it('413 for a body over the configured limit, declared by content-length or streamed', async () => {
    h = await createHarness({ config: { server: { bodyLimitBytes: BODY_LIMIT } } })
    const token = await h.token({ sub: 'alice' })
    const big = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT * 2) })
    const base = await h.listen()

    const declared = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { ...h.auth(token), 'content-type': 'application/json' },
      body: big,
    })
    await expectEnvelope(declared, 413, 'invalid_request_error', 'payload_too_large')

    // No content-length: the limit must hold on the bytes actually read (chunked upload).
    const chunks = [big.slice(0, BODY_LIMIT), big.slice(BODY_LIMIT)]
    const streamed = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { ...h.auth(token), 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift()
          if (next === undefined) controller.close()
          else controller.enqueue(new TextEncoder().encode(next))
        },
      }),
      duplex: 'half',
    } as RequestInit)
    await expectEnvelope(streamed, 413, 'invalid_request_error', 'payload_too_large')

    // Just under the limit is accepted: the limit is the configured one, not a smaller default.
    const small = await h.json('POST', '/api/v1/keys', { name: 'y'.repeat(BODY_LIMIT - 40) }, token)
    expect(small.status, await small.clone().text()).not.toBe(413)
  })

  it('500 with a generic message for an unexpected exception; the stack goes to the log only', async () => {
    h = await createHarness()
    // A database with no tables, swapped in through Deps: every query throws a driver error.
    const dir = mkdtempSync(join(tmpdir(), 'gateway-broken-'))
    const broken = createDb(`sqlite:${join(dir, 'no-tables.db')}`)
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    cleanups.push(() => broken.close())
    const app = createApp({ ...h.deps, database: broken })

    const res = await app.request('/api/v1/keys', {
      headers: h.auth(await h.token({ sub: 'alice' })),
    })
    const requestId = res.headers.get('x-request-id')
    const clone = res.clone()
    const error = await expectEnvelope(res, 500, 'server_error', 'internal_error')
    const text = await clone.text()
    expect(error.message).toBe('Internal server error')
    expect(text).not.toMatch(/no such table|gateway_user|sqlite|\.ts:\d+|\n\s+at /i)

    const logged = h.logs.find((line) => line.level === 'error' && line.requestId === requestId)
    expect(logged, h.logText()).toBeDefined()
    const err = logged!.err as { message?: string; stack?: string }
    expect(err.message, h.logText()).toMatch(/no such table/)
    expect(err.stack, h.logText()).toMatch(/\n\s+at /)
  })

  describe("Node's own refusals, before any route", () => {
    /** Writes raw bytes to the gateway's socket and reads the answer until the server closes. */
    async function exchange(base: string, bytes: string): Promise<Response> {
      const { port } = new URL(base)
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes))
        let text = ''
        socket.on('data', (chunk) => {
          text += chunk
        })
        socket.on('close', () => resolve(text))
        socket.on('error', reject)
      })
      const [head = '', body = ''] = raw.split('\r\n\r\n')
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = new Headers(
        lines.map((line) => [
          line.slice(0, line.indexOf(':')),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      )
      return new Response(body, { status: Number(statusLine.split(' ')[1]), headers })
    }

    it('400 in the envelope for a malformed request line', async () => {
      h = await createHarness()
      const base = await h.listen()
      const res = await exchange(base, 'GARBAGE\r\nAuthorization: Bearer sk-secret-123\r\n\r\n')
      await expectEnvelope(res, 400, 'invalid_request_error', 'invalid_request')
      expect(h.logText()).not.toContain('sk-secret-123')
    })

    it('431 in the envelope for headers over the limit, the headers never logged', async () => {
      h = await createHarness()
      const base = await h.listen()
      const huge = `GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-secret-456\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`
      const res = await exchange(base, huge)
      const error = await expectEnvelope(
        res,
        431,
        'invalid_request_error',
        'request_header_fields_too_large',
      )
      expect(error.message).toMatch(/headers/i)
      expect(h.logText()).not.toContain('sk-secret-456')
    })
  })
})
