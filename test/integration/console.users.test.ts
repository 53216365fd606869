import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { signInWeb, type WebClient } from '../helpers/web-session.ts'

/**
 * The console's actions on a user over HTTP, on both databases: disabling
 * refuses every credential (on a second replica within the auth cache bound),
 * a grant happens only once reviewed and extends the same paid plan, and each
 * action leaves an audit row.
 */
describe('console: disabling a user, granting a plan, the audit log', () => {
  let h: Harness
  let base: string
  let admin: WebClient
  beforeEach(async () => {
    h = await createHarness()
    base = await h.listen()
    admin = await signInWeb(h, base, 'boss', { role: 'admin' })
  })
  afterEach(async () => {
    await h?.close()
  })

  async function createKey(token: string, name = 'laptop') {
    const res = await h.json('POST', '/api/v1/keys', { name }, token)
    const text = await res.text()
    expect(res.status, text).toBe(201)
    return JSON.parse(text) as { id: string; key: string }
  }

  const call = async (target: Harness, bearer: string) => {
    const res = await target.request('/api/v1/keys', { headers: target.auth(bearer) })
    return { status: res.status, text: await res.text() }
  }

  it('a disabled user gets 403 on every credential, here at once and on another replica within auth.apiKeyCacheMs', async () => {
    const other = await createHarness({ shareDatabaseWith: h })
    try {
      const jwt = await h.token({ sub: 'alice', email: 'alice@example.com' })
      const { key } = await createKey(jwt)
      for (const target of [h, other]) {
        for (const bearer of [key, jwt]) {
          const before = await call(target, bearer)
          expect(before.status, `enabled, cached on both replicas: ${before.text}`).toBe(200)
        }
      }

      const res = await admin.post('/admin/users/alice/disable', {})
      expect(res.status, await res.text()).toBe(303)
      for (const bearer of [key, jwt]) {
        const here = await call(h, bearer)
        expect(here.status, `this replica, at once: ${here.text}`).toBe(403)
        expect(JSON.parse(here.text).error, here.text).toMatchObject({
          code: 'permission_denied',
          message: 'This account is disabled by the operator',
        })
        expect((await call(other, bearer)).status, 'the other replica, inside its 5 s').toBe(200)
      }
      h.clock.advance(5_000)
      for (const bearer of [key, jwt]) {
        const there = await call(other, bearer)
        expect(there.status, `the other replica, after the bound: ${there.text}`).toBe(403)
      }
      const page = await admin.page('/admin/users/alice')
      expect(page).toContain('Disabled since')

      expect((await admin.post('/admin/users/alice/enable', {})).status).toBe(303)
      expect((await call(h, key)).status, 'enabled: here at once').toBe(200)
      h.clock.advance(5_000)
      expect((await call(other, jwt)).status, 'enabled: there after the bound').toBe(200)

      const audit = await h.db
        .selectFrom('console_audit')
        .selectAll()
        .orderBy('id', 'asc')
        .execute()
      expect(audit.map((r) => [r.actor_id, r.action, r.target_user_id, r.before, r.after])).toEqual(
        [
          ['boss', 'user_disable', 'alice', '{"disabled":false}', '{"disabled":true}'],
          ['boss', 'user_enable', 'alice', '{"disabled":true}', '{"disabled":false}'],
        ],
      )
    } finally {
      await other.close()
    }
  })

  it("a disabled user's page session is refused and a service key cannot act for them", async () => {
    const alice = await signInWeb(h, base, 'alice')
    expect((await alice.get('/billing')).status).toBe(200)
    const service = await createServiceKey()
    const acting = () =>
      h.request('/api/v1/keys', {
        headers: { ...h.auth(service), 'x-openwebui-user-id': 'alice' },
      })
    expect((await admin.post('/admin/users/alice/disable', {})).status).toBe(303)
    const page = await alice.get('/billing')
    expect(page.status).not.toBe(200)
    expect(await page.text()).toContain('This account is disabled by the operator')
    const res = await acting()
    expect(res.status, await res.text()).toBe(403)
  })

  async function createServiceKey() {
    const res = await h.json(
      'POST',
      '/api/v1/keys',
      { name: 'webui', acts_for_users: true },
      await h.adminToken(),
    )
    const text = await res.text()
    expect(res.status, text).toBe(201)
    return (JSON.parse(text) as { key: string }).key
  }

  const live = () =>
    h.db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('user_id', '=', 'alice')
      .where('status', 'in', ['active', 'past_due'])
      .executeTakeFirst()

  /** The review page of a grant, and the state its confirm button carries. */
  async function review(planId: string, periods = 1) {
    const html = await admin.page(`/admin/users/alice/grant?plan_id=${planId}&periods=${periods}`)
    const expectState = /name="expect" value="([^"]+)"/.exec(html)?.[1]
    expect(expectState, html).toBeDefined()
    return { html, expectState: expectState! }
  }

  it('grants only after the review, and granting the same paid plan adds to its paid time', async () => {
    await h.request('/api/v1/billing/me', { headers: h.auth(await h.token({ sub: 'alice' })) })
    const onFree = await live()
    expect(onFree?.plan_id).toBe('free')

    // A bare click (no review) and a form without a plan change nothing.
    const bare = await admin.post('/admin/users/alice/grant', { plan_id: 'pro', periods: '1' })
    expect(bare.status, await bare.text()).toBe(400)
    const noPlan = await admin.get('/admin/users/alice/grant?plan_id=&periods=1')
    expect(noPlan.status).toBe(400)
    expect(await noPlan.text()).toContain('Choose the plan to grant')
    expect(await live()).toEqual(onFree)

    const first = await review('pro')
    expect(first.html).toContain(
      '&quot;Free&quot; ends now; usage resets. &quot;Pro&quot; starts now, paid until Feb 15, 2026.',
    )
    expect(
      (
        await admin.post('/admin/users/alice/grant', {
          plan_id: 'pro',
          periods: '1',
          expect: first.expectState,
        })
      ).status,
    ).toBe(303)
    const pro = await live()
    expect(pro).toMatchObject({ plan_id: 'pro', paid_until: Date.UTC(2026, 1, 15, 12) / 1000 })

    const again = await review('pro', 2)
    expect(again.html).toContain(
      '&quot;Pro&quot; paid until Feb 15, 2026 is extended to Apr 15, 2026 (2 month(s) more).',
    )
    // A confirmation of a state that has changed since is refused: re-posting the first one.
    const stale = await admin.post('/admin/users/alice/grant', {
      plan_id: 'pro',
      periods: '2',
      expect: first.expectState,
    })
    expect(stale.status, await stale.text()).toBe(409)
    expect(
      (
        await admin.post('/admin/users/alice/grant', {
          plan_id: 'pro',
          periods: '2',
          expect: again.expectState,
        })
      ).status,
    ).toBe(303)
    const extended = await live()
    expect(extended, 'the same subscription, period and usage; two more months paid').toMatchObject(
      {
        id: pro!.id,
        current_period_start: pro!.current_period_start,
        paid_until: Date.UTC(2026, 3, 15, 12) / 1000,
      },
    )

    const audit = await h.db.selectFrom('console_audit').selectAll().orderBy('id', 'asc').execute()
    expect(audit.map((r) => [r.action, r.subject])).toEqual([
      ['grant', 'pro'],
      ['grant', 'pro'],
    ])
    expect(JSON.parse(audit[1]!.before!)).toMatchObject({
      plan: 'pro',
      paid_until: Date.UTC(2026, 1, 15, 12) / 1000,
    })
    expect(JSON.parse(audit[1]!.after!)).toMatchObject({
      plan: 'pro',
      paid_until: Date.UTC(2026, 3, 15, 12) / 1000,
      periods: 2,
    })
    const page = await admin.page('/admin/audit')
    expect(page).toContain('Plan granted')
  })

  it("billing as the user: their page, read-only, with the pages' headers", async () => {
    await signInWeb(h, base, 'alice', { email: 'alice@example.com' })
    const res = await admin.get('/admin/users/alice/billing')
    const html = await res.text()
    expect(res.status, html).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(html).toContain('Read-only: the billing page as alice@example.com sees it.')
    expect(html).toContain('Your plan: <span data-testid="current-plan">Free</span>')
    expect(html, "the operator's own Sign out stays").toContain('action="/signout"')
    const main = html.slice(html.indexOf('<main'))
    expect(main).not.toContain('<form')
    expect(main).not.toContain('href="/billing/')
  })
})
