import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

type Media = { schema: Record<string, unknown>; example?: unknown }
interface Document {
  servers: Array<{ url: string; description?: string }>
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, Media> } }>>
}

/**
 * "Try it out" works as the docs page offers it: every proxied endpoint documents its body
 * with a real example, and that example, sent as it is, gets a 200 from the gateway.
 */
describe('the OpenAPI examples', () => {
  let f: ProxyFixture
  let doc: Document
  beforeAll(async () => {
    f = await startProxyFixture({ harness: { env: { PUBLIC_URL: 'http://127.0.0.1:3000' } } })
    doc = (await (await f.h.request('/openapi.json')).json()) as Document
  })
  afterAll(() => f.close())

  const media = (path: string) => doc.paths[path]?.post?.requestBody?.content['application/json']

  for (const path of [
    '/v1/chat/completions',
    '/v1/completions',
    '/v1/embeddings',
    '/v1/responses',
  ]) {
    it(`${path}: a body schema and an example that answers 200`, async () => {
      const body = media(path)
      expect(body?.schema, JSON.stringify(doc.paths[path])).toBeDefined()
      expect(body?.example, JSON.stringify(body)).toBeDefined()
      const res = await f.fetch('try-it', path, { method: 'POST', json: body!.example })
      expect(res.status, await res.text()).toBe(200)
    })
  }

  it('the payment example carries real values, and the server has a name', () => {
    const example = media('/api/v1/billing/payment')?.example as Record<string, string>
    expect(example, JSON.stringify(example)).toMatchObject({ plan_id: 'pro' })
    expect(new URL(example.return_url!).pathname).toBe('/billing/return')
    expect(JSON.stringify(example)).not.toContain('"string"')
    expect(doc.servers).toEqual([{ url: 'http://127.0.0.1:3000', description: 'This gateway' }])
  })
})
