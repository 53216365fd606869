import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hashSecret, mintSignInLink } from '../../src/web/sign-in.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb } from '../helpers/web-session.ts'

/** The pages' sign-in: one-time links, sessions, the host application's JWT cookie. */
describe(`pages sign-in (${TEST_DIALECT})`, () => {
  let h: Harness
  let base: string
  beforeEach(async () => {
    h = await createHarness()
    base = await h.listen()
  })
  afterEach(() => h.close())

  const get = (path: string, cookie?: string) =>
    fetch(`${base}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} })

  /** The button of the link's page: a form POST to the same URL, from this site. */
  const press = (path: string, origin: string | null = base) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin !== null ? { origin } : {}),
      },
      body: '',
    })
  const linkRows = () => h.db.selectFrom('web_sign_in_link').select('used_at').execute()

  it("a link signs in once, by its page's button: HttpOnly SameSite=Lax cookie, a clean redirect, only hashes stored", async () => {
    const link = await mintSignInLink(h.deps, 'u1', { baseUrl: base })
    const token = link.url.split('/signin/')[1]!
    const page = await get(`/signin/${token}`)
    const html = await page.text()
    expect(page.status, html).toBe(200)
    expect(page.headers.get('set-cookie')).toBeNull()
    // Not no-referrer: a browser would send the button's POST with `Origin: null`.
    expect(page.headers.get('referrer-policy')).toBe('same-origin')
    expect(html).toContain(`<form method="post" action="/signin/${token}"`)

    const first = await press(`/signin/${token}`)
    expect(first.status, await first.text()).toBe(303)
    expect(first.headers.get('location')).toBe('/billing')
    expect(first.headers.get('referrer-policy')).toBe('no-referrer')
    const setCookie = first.headers.get('set-cookie')!
    expect(setCookie).toMatch(
      /^gw_session=[\w-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/,
    )
    const cookie = setCookie.split(';')[0]!
    expect((await get('/billing', cookie)).status).toBe(200)

    for (const again of [await press(`/signin/${token}`), await get(`/signin/${token}`)]) {
      expect(again.status).toBe(400)
      expect(await again.text()).toContain('invalid, already used or expired')
    }

    const links = await h.db.selectFrom('web_sign_in_link').selectAll().execute()
    const sessions = await h.db.selectFrom('web_session').selectAll().execute()
    expect(links.map((l) => l.token_hash)).toEqual([hashSecret(token)])
    expect(sessions.map((s) => s.token_hash)).toEqual([hashSecret(cookie.split('=')[1]!)])
    expect(JSON.stringify([links, sessions])).not.toContain(token)
  })

  // Link previewers and mail scanners fetch every link they see: none of them may spend it,
  // nor get the session it opens.
  it('GET and HEAD never spend a link nor set a session', async () => {
    const link = await mintSignInLink(h.deps, 'u1', { baseUrl: base })
    for (const method of ['HEAD', 'GET', 'GET', 'HEAD']) {
      const res = await fetch(link.url, { method, redirect: 'manual' })
      expect(res.status, method).toBe(200)
      expect(res.headers.get('set-cookie'), method).toBeNull()
    }
    expect(await linkRows()).toEqual([{ used_at: null }])
    expect(await h.db.selectFrom('web_session').select('user_id').execute()).toEqual([])
    expect((await press(new URL(link.url).pathname)).status).toBe(303)
  })

  it("a POST without this site's Origin spends nothing (no sign-in forced from another site)", async () => {
    const link = await mintSignInLink(h.deps, 'u1', { baseUrl: base })
    const path = new URL(link.url).pathname
    for (const origin of [null, 'null', 'https://evil.example']) {
      const res = await press(path, origin)
      expect(res.status, String(origin)).toBe(403)
      expect(res.headers.get('set-cookie'), String(origin)).toBeNull()
    }
    expect(await linkRows()).toEqual([{ used_at: null }])
    expect((await press(path)).status).toBe(303)
  })

  it('a link expires after web.signInLinkTtlSeconds; a session after web.sessionTtlSeconds', async () => {
    const stale = await mintSignInLink(h.deps, 'u1', { baseUrl: base })
    h.clock.advance(901_000)
    expect((await fetch(stale.url, { redirect: 'manual' })).status).toBe(400)
    expect((await press(new URL(stale.url).pathname)).status).toBe(400)

    const web = await signInWeb(h, base, 'u1')
    expect((await web.get('/billing')).status).toBe(200)
    h.clock.advance(7 * 86_400_000)
    const expired = await web.get('/billing')
    expect(expired.status).toBe(303)
    expect(expired.headers.get('location')).toBe('/signin?expired=1')
    const page = await web.get('/signin?expired=1')
    expect(await page.text()).toContain('Your session has expired')
  })

  it('no session: a page redirects to /signin, which explains how to get in', async () => {
    for (const path of ['/billing', '/billing/return', '/admin', '/admin/plans']) {
      const res = await get(path)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('location'), path).toBe('/signin')
    }
    const forged = await get('/billing', 'gw_session=not-a-session')
    expect(forged.headers.get('location')).toBe('/signin?expired=1')
    const signin = await (await get('/signin')).text()
    expect(signin).toContain('gateway link --user')
  })

  it("the host application's JWT in the `token` cookie signs in with the API's verifier", async () => {
    const user = await h.token({ id: 'owui-user', email: 'o@example.com' })
    const page = await get('/billing', `token=${user}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('o@example.com')
    expect((await get('/admin', `token=${user}`)).status).toBe(403)
    expect((await get('/admin', `token=${await h.adminToken()}`)).status).toBe(200)

    const tampered = await get('/billing', `token=${user.slice(0, -2)}xx`)
    expect(tampered.headers.get('location')).toBe('/signin?expired=1')
    // An API key is a Bearer credential only, never a sign-in cookie.
    const key = await h.json('POST', '/api/v1/keys', { name: 'k' }, user)
    const { key: secret } = (await key.json()) as { key: string }
    expect((await get('/billing', `token=${secret}`)).headers.get('location')).toBe('/signin')
  })

  it('a link minted for an admin opens the console; sign-out ends the session', async () => {
    const admin = await signInWeb(h, base, 'boss', { role: 'admin' })
    expect((await admin.get('/admin')).status).toBe(200)
    const out = await admin.post('/signout', {})
    expect(out.status).toBe(303)
    expect(out.headers.get('set-cookie')).toContain('gw_session=;')
    expect((await admin.get('/admin')).headers.get('location')).toBe('/signin?expired=1')
  })
})

describe(`pages sign-in behind HTTPS (${TEST_DIALECT})`, () => {
  it('the session cookie is Secure when the gateway is not plain http on loopback', async () => {
    const h = await createHarness({ env: { PUBLIC_URL: 'https://gw.example' } })
    try {
      const link = await mintSignInLink(h.deps, 'u1')
      expect(link.url).toMatch(/^https:\/\/gw\.example\/signin\/[\w-]{43}$/)
      const res = await h.request(new URL(link.url).pathname, {
        method: 'POST',
        headers: { origin: 'https://gw.example' },
      })
      expect(res.headers.get('set-cookie')).toContain('; Secure')
    } finally {
      await h.close()
    }
  })
})
