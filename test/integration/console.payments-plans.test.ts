import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * The console's payment search, webhook links, plan reach and the default
 * plan's guard over HTTP on both databases (the browser tests: SQLite only).
 */
describe(`console payments and plans (${TEST_DIALECT})`, () => {
  const f = usePaymentsFixture()

  it('finds a payment by its YooKassa id or transaction id; webhook rows link to it; unknown ids change nothing', async () => {
    const checkout = await f.creditedCheckout('payer', { email: 'payer@example.com' })
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const to = `/admin/users/payer?tx=${checkout.transaction_id}#tx-h`
    for (const q of [checkout.payment_id, checkout.transaction_id]) {
      for (const path of [`/admin/payments?q=${q}`, `/admin?q=${q}`]) {
        const res = await admin.get(path)
        expect(res.status, `${path}: ${await res.text()}`).toBe(303)
        expect(res.headers.get('location'), path).toBe(to)
      }
    }
    const missing = await admin.get('/admin/payments?q=no-such-payment')
    expect(missing.status).toBe(404)
    expect(textOf(await missing.text())).toContain(
      'No payment with the id &quot;no-such-payment&quot;.',
    )
    // A user search that is no payment id still lists users.
    expect((await admin.get('/admin?q=payer')).status).toBe(200)

    const webhooks = await admin.page('/admin/webhooks')
    expect(webhooks).toContain(`href="${to}"`)
    expect(webhooks).toContain(`href="/admin/users/payer"`)
    expect(textOf(await admin.page('/admin/users/payer'))).toContain(checkout.payment_id)
  })

  it('plan pages state the active subscribers; the default plan cannot be deactivated; edits are audited', async () => {
    await f.creditedCheckout('payer')
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const list = await admin.page('/admin/plans')
    expect(list).toContain('data-subscribers="1"')
    expect(textOf(await admin.page('/admin/plans/pro'))).toContain(
      '1 active subscriber(s) are on this plan: a change of its quotas reaches them from their next period',
    )

    const refused = await admin.post('/admin/plans/free/active', { active: 'off' })
    expect(refused.status).toBe(409)
    expect(textOf(await refused.text())).toContain('This is the default plan')
    const form = await admin.post('/admin/plans/free', {
      name: 'Free',
      price: '0',
      currency: 'RUB',
      interval: 'month',
      display_order: '0',
    })
    expect(form.status).toBe(400)
    const plan = await f.h.db
      .selectFrom('billing_plan')
      .selectAll()
      .where('id', '=', 'free')
      .executeTakeFirstOrThrow()
    expect(plan.is_active, 'the default plan stays active').toBe(1)

    expect((await admin.post('/admin/plans/pro/active', { active: 'off' })).status).toBe(303)
    const audit = await f.h.db.selectFrom('console_audit').selectAll().execute()
    expect(audit.map((r) => [r.action, r.subject])).toEqual([['plan_active', 'pro']])
    expect(JSON.parse(audit[0]!.before!)).toMatchObject({ id: 'pro', is_active: true })
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({ id: 'pro', is_active: false })
  })

  it('a quota edit reaches a payer from their next period, unless the operator chooses now', async () => {
    await f.creditedCheckout('payer')
    let admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    let payer = await signInWeb(f.h, f.base, 'payer')
    const requests = async () =>
      /Requests (\d+) of ([\d,]+) used/.exec(textOf(await payer.page('/billing')))?.[2]
    expect(await requests()).toBe('10,000')
    const form = {
      name: 'Pro',
      price: '990',
      currency: 'RUB',
      interval: 'month',
      is_active: 'on',
      display_order: '1',
    }

    const next = await admin.post('/admin/plans/pro', {
      ...form,
      quota_requests: '5',
      apply: 'next',
    })
    expect(next.status, await next.text()).toBe(303)
    expect(await requests(), 'the current period keeps its limit').toBe('10,000')
    f.h.clock.advance(32 * 86_400_000)
    await f.creditedCheckout('payer')
    // Sessions last 7 days: sign in again after the month.
    payer = await signInWeb(f.h, f.base, 'payer')
    admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    expect(await requests(), 'the next period has the new one').toBe('5')

    await admin.post('/admin/plans/pro', { ...form, quota_requests: '7', apply: 'next' })
    expect(await requests()).toBe('5')
    await admin.post('/admin/plans/pro', { ...form, quota_requests: '9', apply: 'now' })
    expect(await requests(), 'now: at once, also over what was kept').toBe('9')
    const audit = await f.h.db
      .selectFrom('console_audit')
      .select('after')
      .where('action', '=', 'plan_edit')
      .execute()
    expect(audit.map((r) => JSON.parse(r.after!).quotas_apply)).toEqual(['next', 'next', 'now'])
  })
})
