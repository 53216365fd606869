import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { BROWSER_TEST_MS, skipBrowser, useBrowser } from './browser.ts'

/**
 * A page on another origin calls the gateway with the openai SDK, in Chromium: the allowed
 * origin gets its answers (JSON, stream, the models list) through the preflight, which needs
 * no credentials; an origin the gateway does not name is stopped by the browser before its
 * request is sent.
 */
interface StaticSite {
  origin: string
  close(): Promise<void>
}

/** A tiny static server: one page and the openai SDK bundled for the browser. */
async function startSite(sdk: string): Promise<StaticSite> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/openai.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' })
      response.end(sdk)
      return
    }
    response.writeHead(200, { 'content-type': 'text/html' })
    response.end(
      '<!doctype html><title>app</title><script type="module" src="/openai.js"></script>',
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

async function bundleSdk(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "import OpenAI from 'openai'; globalThis.OpenAI = OpenAI",
      resolveDir: import.meta.dirname,
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

describe.skipIf(skipBrowser)('CORS in Chromium with the openai SDK', () => {
  const browser = useBrowser()
  let f: ProxyFixture
  let allowed: StaticSite
  let stranger: StaticSite
  beforeAll(async () => {
    const sdk = await bundleSdk()
    allowed = await startSite(sdk)
    stranger = await startSite(sdk)
    f = await startProxyFixture({ config: { cors: { origins: [allowed.origin] } } })
  }, BROWSER_TEST_MS)
  afterAll(async () => {
    await f?.close()
    await allowed?.close()
    await stranger?.close()
  })

  /** Runs the SDK in a page of `site` against the gateway; what it got, or the error it threw. */
  async function callFrom(site: StaticSite) {
    const { context, page } = await browser.open()
    await page.goto(site.origin)
    await page.waitForFunction(() => 'OpenAI' in globalThis)
    const result = await page.evaluate(
      async ({ baseURL, apiKey }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the SDK is the page's global
        const OpenAI = (globalThis as any).OpenAI
        const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 })
        const messages = [{ role: 'user', content: 'Hello' }]
        try {
          const { data, response } = await client.chat.completions
            .create({ model: 'gpt-4o-mini', messages })
            .withResponse()
          const stream = await client.chat.completions.create({
            model: 'gpt-4o-mini',
            messages,
            stream: true,
          })
          let streamed = ''
          for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? ''
          const models = []
          for await (const model of client.models.list()) models.push(model.id)
          return {
            ok: true,
            text: data.choices[0].message.content,
            requestId: response.headers.get('x-request-id'),
            quota: response.headers.get('x-quota-remaining-requests'),
            streamed,
            models,
          }
        } catch (error) {
          return { ok: false, error: String(error) }
        }
      },
      { baseURL: `${f.base}/v1`, apiKey: await f.token('browser-user') },
    )
    await context.close()
    return result
  }

  it(
    'an allowed origin calls the gateway: JSON, stream and models, the request id and quota readable',
    async () => {
      const result = await callFrom(allowed)
      expect(result.ok, JSON.stringify(result)).toBe(true)
      expect(result.text).toBeTruthy()
      expect(result.streamed).toBeTruthy()
      expect(result.requestId).toBeTruthy()
      expect(result.quota).toMatch(/^\d+$/)
      expect(result.models).toContain('gpt-4o-mini')
      const ledger = await f.settled('browser-user')
      expect(ledger.used.requests).toBe(2)
    },
    BROWSER_TEST_MS,
  )

  it(
    'another origin is stopped by the browser at the preflight: nothing reaches the upstream',
    async () => {
      f.upstream.reset()
      const result = await callFrom(stranger)
      expect(result.ok, JSON.stringify(result)).toBe(false)
      expect(result.error).toMatch(/Connection error|fetch/i)
      expect(f.upstream.requests).toEqual([])
    },
    BROWSER_TEST_MS,
  )
})
