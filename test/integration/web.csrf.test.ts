import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, type WebClient } from '../helpers/web-session.ts'

/** Every form of the pages refuses a cross-site post: no or foreign Origin, missing or wrong token. */
describe(`pages CSRF and headers (${TEST_DIALECT})`, () => {
  let h: Harness
  let base: string
  let web: WebClient
  beforeEach(async () => {
    h = await createHarness()
    base = await h.listen()
    web = await signInWeb(h, base, 'u1')
  })
  afterEach(() => h.close())

  const keyCount = async () =>
    (await h.db.selectFrom('gateway_api_key').select('id').where('user_id', '=', 'u1').execute())
      .length

  it('a same-site post with the session token works', async () => {
    const res = await web.post('/billing/keys', { name: 'laptop' })
    const html = await res.text()
    expect(res.status, html).toBe(200)
    expect(html).toMatch(/<code id="new-key">sk-[\w-]{43}<\/code>/)
    expect(await keyCount()).toBe(1)
  })

  it.each([
    ['no Origin', { origin: null }],
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['an opaque Origin', { origin: 'null' }],
    ['no token', { csrf: null }],
    ['a wrong token', { csrf: 'A'.repeat(43) }],
  ] as const)('%s: 403 and nothing changes', async (_, options) => {
    for (const [path, form] of [
      ['/billing/keys', { name: 'evil' }],
      ['/billing/cancel', { when: 'now' }],
      ['/billing/pay', { plan_id: 'pro' }],
      ['/signout', {}],
    ] as const) {
      const res = await web.post(path, form, options)
      expect(res.status, `${path}: ${await res.text()}`).toBe(403)
    }
    expect(await keyCount()).toBe(0)
    expect((await web.get('/billing')).status).toBe(200)
  })

  it("another session's token is refused", async () => {
    const other = await signInWeb(h, base, 'u2')
    const res = await web.post('/billing/keys', { name: 'x' }, { csrf: await other.csrf() })
    expect(res.status).toBe(403)
    expect(await keyCount()).toBe(0)
  })

  it('pages carry a same-origin CSP and are not cached; GET / is a page for browsers only', async () => {
    const res = await web.get('/billing')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(res.headers.get('cache-control')).toBe('no-store')
    const css = await fetch(`${base}/assets/gateway.css`)
    expect(css.headers.get('content-type')).toContain('text/css')

    const page = await fetch(`${base}/`, { headers: { accept: 'text/html,*/*' } })
    const html = await page.text()
    expect(page.status).toBe(200)
    for (const href of ['/billing', '/admin', '/docs', '/healthz'])
      expect(html).toContain(`href="${href}"`)
    const api = await fetch(`${base}/`, { headers: { accept: 'application/json' } })
    expect(api.status).toBe(404)
    expect(await api.json()).toMatchObject({ error: { code: 'not_found' } })
    expect((await fetch(`${base}/`)).status).toBe(404)
  })

  it('the language switch only redirects within the site', async () => {
    const ok = await fetch(`${base}/lang/ru?next=/billing`, { redirect: 'manual' })
    expect(ok.headers.get('location')).toBe('/billing')
    expect(ok.headers.get('set-cookie')).toContain('lang=ru')
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example']) {
      const res = await fetch(`${base}/lang/ru?next=${encodeURIComponent(next)}`, {
        redirect: 'manual',
      })
      expect(res.headers.get('location'), next).toBe('/')
    }
  })

  // Browsers drop tabs and newlines from a URL, and resolve dot segments: each of these is
  // //evil.example/path to them, another site. Written as they arrive in the query string.
  it.each([
    '/%09/evil.example/path',
    '/%0A/evil.example/path',
    '/%0D/evil.example/path',
    '%09//evil.example/path',
    '/%0D%0A/evil.example/path',
    '%20//evil.example/path',
    '/.//evil.example/path',
    '/..//evil.example/path',
    '/a/..//evil.example/path',
    '/%5C/evil.example/path',
    '/%E3%80%80/evil.example/path',
    'http:evil.example',
    'javascript:alert(1)',
    '',
  ])('the language switch sends next=%s home, not to another site', async (raw) => {
    const res = await fetch(`${base}/lang/en?next=${raw}`, { redirect: 'manual' })
    expect(res.status, await res.text()).toBe(303)
    expect(res.headers.get('location'), raw).toBe('/')
    expect(res.headers.get('set-cookie')).toContain('lang=en')
    expect(h.logs.filter((line) => line.level === 'error')).toEqual([])
  })

  it.each([
    ['/billing', '/billing'],
    ['/billing%3Fnotice%3Dkey_revoked', '/billing?notice=key_revoked'],
    ['/admin/users/a%2540b', '/admin/users/a%40b'],
    ['/billing/return%3Ftx%3Dt1%23top', '/billing/return?tx=t1#top'],
  ])('the language switch keeps a path of this site: next=%s', async (raw, location) => {
    const res = await fetch(`${base}/lang/en?next=${raw}`, { redirect: 'manual' })
    expect(res.headers.get('location')).toBe(location)
  })
})
