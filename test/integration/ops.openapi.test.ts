import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'

describe('the OpenAPI document', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  it('describes every route the app serves, and only those', async () => {
    const res = await h.request('/openapi.json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { openapi: string; paths: Record<string, object> }
    expect(doc.openapi).toBe('3.1.0')
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    )
    // The HTML pages (src/web: /, /lang, /signin, /signout, /billing, /admin, /assets) are for
    // browsers, not API clients: the contract describes the JSON API only.
    const isPage = (path: string) =>
      path === '/' || /^\/(lang|signin|signout|billing|admin|assets)(\/|$)/.test(path)
    const served = new Set(
      h.app.routes
        .filter(
          (r) =>
            r.method !== 'ALL' && !['/docs', '/openapi.json'].includes(r.path) && !isPage(r.path),
        )
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
  })

  it('renders the docs page', async () => {
    const res = await h.request('/docs')
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('/openapi.json')
  })
})
