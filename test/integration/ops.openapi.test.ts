import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createHarness, type Harness } from '../helpers/harness.ts'

type Json = Record<string, unknown>
interface Operation {
  security?: unknown[]
  requestBody?: { content: { 'application/json': { schema: Json } } }
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>
}
interface Document {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Json>; securitySchemes: Json }
}

/** A schema with its #/components/schemas refs written out, for z.fromJSONSchema. */
function inline(schema: unknown, doc: Document): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, doc))
  if (typeof schema !== 'object' || schema === null) return schema
  const ref = (schema as Json).$ref
  if (typeof ref === 'string') {
    return inline(doc.components.schemas[ref.replace('#/components/schemas/', '')], doc)
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(v, doc)]))
}

describe('the OpenAPI document', () => {
  let h: Harness
  let doc: Document
  beforeAll(async () => {
    h = await createHarness()
    const res = await h.request('/openapi.json')
    expect(res.status).toBe(200)
    doc = (await res.json()) as Document
  })
  afterAll(() => h.close())

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method, path, op })),
    )

  /** Answers a request and checks its body against the document's schema for that status. */
  async function conforms(method: string, path: string, token: string, body?: unknown) {
    const url = path.split('?')[0]!
    const documented = Object.entries(doc.paths).find(([p]) =>
      new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(url),
    )
    const op = documented?.[1][method.toLowerCase()]
    expect(op, `${method} ${url} documented`).toBeDefined()
    const res = await h.json(method, path, body, token)
    const text = await res.text()
    const schema = op!.responses[String(res.status)]?.content?.['application/json']?.schema
    expect(
      schema,
      `${method} ${path} ${res.status} ${text}: a documented JSON answer`,
    ).toBeDefined()
    const result = z.fromJSONSchema(inline(schema, doc) as never).safeParse(JSON.parse(text))
    expect(result.error?.issues, `${method} ${path} answered ${text}`).toBeUndefined()
    return JSON.parse(text)
  }

  it('describes every route the app serves, and only those', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const documented = new Set(operations().map((o) => `${o.method.toUpperCase()} ${o.path}`))
    // The HTML pages (src/web: /, /lang, /signin, /signout, /billing, /admin, /assets) and the
    // docs page with its assets are for browsers: the contract describes the JSON API only.
    const isPage = (path: string) =>
      path === '/' || /^\/(lang|signin|signout|billing|admin|assets|docs)(\/|$)/.test(path)
    const served = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && !isPage(r.path))
        .map(
          (r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/$/, '')}`,
        ),
    )
    expect(
      [...served].filter((r) => !documented.has(r)),
      'served but not documented',
    ).toEqual([])
    expect(
      [...documented].filter((r) => !served.has(r)),
      'documented but not served',
    ).toEqual([])
    for (const { method, path, op } of operations()) {
      expect((op as { summary?: string }).summary, `${method} ${path} summary`).toBeTruthy()
      expect((op as { tags?: string[] }).tags, `${method} ${path} tags`).toHaveLength(1)
    }
  })

  it('asks for a Bearer token exactly where the route does', async () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    for (const { method, path, op } of operations()) {
      const body = method === 'get' ? undefined : {}
      const res = await h.json(method.toUpperCase(), path.replace(/\{\w+\}/g, 'x'), body)
      const isPublic = Array.isArray(op.security) && op.security.length === 0
      if (isPublic) expect(res.status, `${method} ${path} is public`).not.toBe(401)
      else expect(res.status, `${method} ${path} needs a token`).toBe(401)
    }
  })

  it('describes each request body with the schema its route validates', async () => {
    const admin = await h.adminToken()
    // The proxy's bodies are loose on purpose (unknown OpenAI fields pass through): see below.
    const bodies = operations().filter((o) => o.op.requestBody && !o.path.startsWith('/v1/'))
    expect(bodies.length).toBeGreaterThanOrEqual(8)
    for (const { method, path, op } of bodies) {
      // Every body schema is strict in the document, and the route refuses a field it does not name.
      const schema = inline(op.requestBody!.content['application/json'].schema, doc) as Json
      expect(schema.additionalProperties, `${method} ${path}`).toBe(false)
      const res = await h.json(
        method.toUpperCase(),
        path.replace(/\{\w+\}/g, 'x'),
        { not_in_the_document: 1 },
        admin,
      )
      expect(res.status, `${method} ${path}`).toBe(400)
      expect(((await res.json()) as { error: { param: string } }).error.param).toContain(
        'not_in_the_document',
      )
    }
  })

  it('describes the answers the routes give', async () => {
    const admin = await h.adminToken()
    const user = await h.token({ sub: 'openapi-user', email: 'u@example.com' })
    const plan = { id: 'openapi', name: 'OpenAPI', price: '990.00', quotas: { requests: 10 } }
    await conforms('POST', '/api/v1/billing/plans', admin, plan)
    await conforms('PATCH', '/api/v1/billing/plans/openapi', admin, { description: 'changed' })
    await conforms('GET', '/api/v1/billing/plans', user)
    const grant = { user_id: 'openapi-user', plan_id: 'openapi' }
    await conforms('POST', '/api/v1/billing/admin/subscriptions', admin, grant)
    await conforms('GET', '/api/v1/billing/admin/subscriptions?limit=5', admin)
    await conforms('GET', '/api/v1/billing/subscription', user)
    await conforms('GET', '/api/v1/billing/me', user)
    await conforms('GET', '/api/v1/billing/usage/requests', user)
    await conforms('POST', '/api/v1/billing/usage/check', user, { metric: 'requests', amount: 3 })
    await conforms('GET', '/api/v1/billing/transactions', user)
    await conforms('GET', '/api/v1/billing/admin/margin?from=0&to=100', admin)
    await conforms('POST', '/api/v1/keys', user, { name: 'openapi' })
    await conforms('GET', '/api/v1/keys', user)
    await conforms('POST', '/api/v1/billing/subscription/cancel', user, {})
    // Refusals are the error envelope, as documented.
    await conforms('GET', '/api/v1/billing/usage/bogus', user)
    await conforms('POST', '/api/v1/billing/plans', user, plan)
  })

  it('renders the docs page from the gateway alone', async () => {
    const res = await h.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).toContain('id="swagger-ui"')
    // No CDN: every URL in the page is a path of the gateway itself.
    expect(html.match(/https?:\/\/[^\s"'<>]+/g) ?? []).toEqual([])
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(urls.length).toBe(4)
    const types = { css: 'text/css', js: 'text/javascript', png: 'image/png' }
    for (const url of urls) {
      expect(url).toMatch(/^\/docs\/assets\//)
      const asset = await h.request(url)
      expect(asset.status, url).toBe(200)
      const ext = url.split('.').pop() as keyof typeof types
      expect(asset.headers.get('content-type'), url).toMatch(new RegExp(`^${types[ext]}`))
      expect(asset.headers.get('cache-control'), url).toMatch(/max-age=31536000.*immutable/)
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(100)
    }
    const init = await (await h.request(urls.find((u) => /\/init-\w+\.js$/.test(u))!)).text()
    expect(init).toContain("url: '/openapi.json'")
    // Swagger UI's default would send the document to validator.swagger.io.
    expect(init).toContain('validatorUrl: null')
    // Only the page's files: nothing else of the package is served.
    const dir = urls[0]!.slice(0, urls[0]!.lastIndexOf('/'))
    expect((await h.request(`${dir}/package.json`)).status).toBe(404)
  })
})
