import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'

/** GET /v1/models: the upstream's list, filtered to what the user's plan allows; never billed. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

describe('GET /v1/models', () => {
  it("lists only the models the plan's features grant (an unmapped model is no plan's)", async () => {
    f = await startProxyFixture({ plan: { features: ['gpt35_access'] } })
    f.upstream.setModels([
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-3.5-turbo',
      'o3-mini',
      'claude-3-opus',
      'llama-3',
    ])
    const client = await f.client('models-user', { maxRetries: 0 })
    const ids = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(['gpt-3.5-turbo'])
    expect(f.upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)

    const one = await client.models.retrieve('gpt-3.5-turbo')
    expect(one.id).toBe('gpt-3.5-turbo')
    const hidden = await client.models.retrieve('gpt-4o').catch((e: unknown) => e)
    expect(hidden, String(hidden)).toBeInstanceOf(OpenAI.NotFoundError)

    const ledger = await f.ledger('models-user')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })

  it('a wider plan sees more', async () => {
    f = await startProxyFixture({ plan: { features: ['gpt4_access', 'claude_access'] } })
    f.upstream.setModels(['gpt-4o', 'gpt-3.5-turbo', 'o3-mini', 'claude-3-opus'])
    const response = await f.fetch('wide-user', '/v1/models')
    const body = (await response.json()) as { data: Array<{ id: string }> }
    expect(response.status, JSON.stringify(body)).toBe(200)
    expect(body.data.map((m) => m.id)).toEqual(['gpt-4o', 'o3-mini', 'claude-3-opus'])
  })

  it('402 without a plan, 502 when the upstream cannot list', async () => {
    f = await startProxyFixture({ config: { billing: { defaultPlanId: 'none' } } })
    const planless = await f.fetch('planless', '/v1/models')
    expect(planless.status, await planless.clone().text()).toBe(402)
    await f.close()

    f = await startProxyFixture()
    f.upstream.once({ status: 500 })
    const down = await f.fetch('u', '/v1/models')
    const body = (await down.json()) as ErrorBody
    expect(down.status, JSON.stringify(body)).toBe(502)
    expect(body.error.code).toBe('upstream_error')
  })

  it('401 without a token', async () => {
    f = await startProxyFixture()
    const response = await fetch(`${f.base}/v1/models`)
    expect(response.status).toBe(401)
    expect(f.upstream.requests.length).toBe(0)
  })
})

/**
 * An upstream that answers GET /v1/models at once and then trickles its body,
 * one byte every 100 ms, never finishing: no per-read timeout ever fires.
 * `open` counts its sockets still connected (a listing that never aborts leaks one).
 */
async function startTricklingUpstream() {
  let open = 0
  const server: Server = createServer((request, response) => {
    open++
    request.socket.once('close', () => open--)
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"object":"list","data":[{"id":"claude-3-opus","object":"model"}')
    const timer = setInterval(() => response.write(' '), 100)
    response.once('close', () => clearInterval(timer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    open: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('GET /v1/models with an upstream that trickles its list', () => {
  let trickling: Awaited<ReturnType<typeof startTricklingUpstream>> | undefined
  afterEach(async () => {
    await trickling?.close()
    trickling = undefined
  })

  const DEADLINE_MS = 1_000
  /** The fixture, with the trickling upstream as `slow` (claude-*), or as the only one. */
  const withTrickling = async (only: boolean) => {
    trickling = await startTricklingUpstream()
    const slow = { name: 'slow', baseUrl: trickling.url, models: ['claude-*'] }
    f = await startProxyFixture({
      plan: { features: ['gpt4_access', 'claude_access'] },
      config: {
        upstreams: only ? [] : [{ name: 'default', baseUrl: 'http://127.0.0.1:9/v1' }, slow],
        modelListTimeoutMs: DEADLINE_MS,
      },
      harness: only ? { env: { UPSTREAM_BASE_URL: trickling.url } } : {},
    })
    return trickling
  }
  const timedList = async (path = '/v1/models') => {
    const started = performance.now()
    const response = await f!.fetch('trickled', path, { signal: AbortSignal.timeout(15_000) })
    const body = await response.json()
    return { response, body, ms: performance.now() - started }
  }
  const waitClosed = async (slow: { open(): number }) => {
    for (let i = 0; i < 100 && slow.open() > 0; i++) await new Promise((r) => setTimeout(r, 20))
    return slow.open()
  }

  it('answers from the upstreams that listed in time, says nothing of the slow one, and aborts it', async () => {
    const slow = await withTrickling(false)
    const { response, body, ms } = await timedList()
    expect(response.status, JSON.stringify(body)).toBe(200)
    // The plan grants claude-*: the slow upstream's claude-3-opus would be listed in time.
    expect((body as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual([
      'gpt-4o-mini',
      'gpt-4o',
    ])
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50)
    expect(ms).toBeLessThan(DEADLINE_MS + 1_500)
    expect(await waitClosed(slow), 'the slow listing is aborted, its socket closed').toBe(0)
    process.stdout.write(`[v1-models] one upstream trickling: 200 after ${Math.round(ms)} ms\n`)
  })

  it('a stalled upstream costs one listing its deadline; later ones answer from the cache without it, until the cache ages', async () => {
    const slow = await withTrickling(false)
    const first = await timedList()
    expect(first.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50)
    const fetched = f!.upstream.requestsTo('/v1/models').length
    f!.upstream.setModels(['gpt-4o', 'gpt-4o-mini', 'o3-mini'])
    const cached = await timedList()
    expect(cached.response.status, JSON.stringify(cached.body)).toBe(200)
    // Not waited for: the stalled upstream is omitted at once while one fetch retries it.
    expect(cached.ms).toBeLessThan(DEADLINE_MS / 2)
    expect((cached.body as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual([
      'gpt-4o-mini',
      'gpt-4o',
    ])
    expect(f!.upstream.requestsTo('/v1/models').length).toBe(fetched)
    // Past the cache's age each upstream is asked again, in the background: a listing answers
    // at once with what was there, and a later one with the new list.
    f!.h.clock.advance(f!.h.deps.config.modelListCacheMs + 1)
    const ids = (listed: { body: unknown }) =>
      (listed.body as { data: Array<{ id: string }> }).data.map((m) => m.id)
    let refreshed = await timedList()
    expect(refreshed.ms).toBeLessThan(DEADLINE_MS / 2)
    for (let i = 0; i < 50 && ids(refreshed).length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      refreshed = await timedList()
    }
    expect(ids(refreshed)).toEqual(['gpt-4o', 'gpt-4o-mini', 'o3-mini'])
    expect(f!.upstream.requestsTo('/v1/models').length).toBe(fetched + 1)
    expect(await waitClosed(slow)).toBe(0)
    process.stdout.write(
      `[v1-models] cached after a stall: ${Math.round(cached.ms)} ms (first ${Math.round(first.ms)} ms)\n`,
    )
  })

  it('a 504 envelope when no upstream listed in time; the single model lookup too', async () => {
    const slow = await withTrickling(true)
    const { response, body, ms } = await timedList()
    expect(response.status, JSON.stringify(body)).toBe(504)
    expect((body as ErrorBody).error.code).toBe('upstream_timeout')
    expect(ms).toBeLessThan(DEADLINE_MS + 1_500)
    const one = await timedList('/v1/models/claude-3-opus')
    expect(one.response.status, JSON.stringify(one.body)).toBe(504)
    expect(await waitClosed(slow)).toBe(0)
    process.stdout.write(
      `[v1-models] the only upstream trickling: 504 after ${Math.round(ms)} ms\n`,
    )
  })
})
