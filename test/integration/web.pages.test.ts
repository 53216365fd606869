import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * The pages over HTTP on both databases (the browser tests run on SQLite only):
 * what they read (usage, history, console lists) and what their forms change
 * goes through the API's services and this dialect's SQL.
 */
describe(`pages content and actions (${TEST_DIALECT})`, () => {
  const f = usePaymentsFixture({
    upstream: true,
    // Allowed return hosts carry the port; the gateway listens on a port chosen at start, so
    // PUBLIC_URL names a fixed one (only the return URL is built from it).
    env: { BILLING_RETURN_HOSTS: '127.0.0.1:9,app.example', PUBLIC_URL: 'http://127.0.0.1:9' },
  })

  const chat = (user: string, times = 1) => f.chat(user, times, { email: `${user}@example.com` })

  it('billing shows usage, the 30-day chart and the plans; the console sorts users by usage', async () => {
    await chat('light')
    await chat('heavy', 3)
    const web = await signInWeb(f.h, f.base, 'heavy', { email: 'heavy@example.com' })
    const text = textOf(await web.page('/billing'))
    expect(text).toContain('Your plan: Free')
    expect(text).toContain('3 of 1,000 used')
    expect(text).toContain('36 of 100,000 used') // 12 prompt tokens a call (the fake's usage)
    expect(text).toContain('Upgrade to Pro for RUB 990/month')
    expect(await web.page('/billing')).toMatch(
      /<svg [^>]*role="img" aria-label="Tokens per day over the last 30 days: 57 in total"/,
    )

    const ru = await signInWeb(f.h, f.base, 'heavy', { lang: 'ru' })
    const russian = textOf(await ru.page('/billing'))
    expect(russian).toContain('Использовано 3 из 1 000')
    expect(russian).toContain('Перейти на Профессиональный за 990 ₽/мес')

    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const list = await admin.page('/admin?sort=usage')
    const order = [...list.matchAll(/data-user="([^"]+)"/g)].map((m) => m[1])
    expect(order.slice(0, 2)).toEqual(['heavy', 'light'])
    const found = await admin.page('/admin?q=HEAVY%40example')
    expect([...found.matchAll(/data-user="([^"]+)"/g)].map((m) => m[1])).toEqual(['heavy'])
    expect(await admin.page('/admin?q=%25')).toContain('No users match.')
    const user = textOf(await admin.page('/admin/users/heavy'))
    expect(user).toContain('gpt-3.5-turbo 3 36 21')
  })

  it('pay: the form redirects to YooKassa, the return page waits, then shows the new quota', async () => {
    const web = await signInWeb(f.h, f.base, 'buyer', { email: 'buyer@example.com' })
    const pay = await web.post('/billing/pay', { plan_id: 'pro' })
    expect(pay.status, await pay.text()).toBe(303)
    const [created] = f.fake.requestsTo('POST', /^\/payments$/)
    expect(created?.body?.confirmation.return_url).toBe('http://127.0.0.1:9/billing/return')
    const paymentId = [...f.fake.payments.keys()][0]!
    expect(pay.headers.get('location')).toBe(
      f.fake.payments.get(paymentId)!.confirmation.confirmation_url,
    )

    const back = await web.get('/billing/return')
    expect(back.status).toBe(303)
    const returnPath = back.headers.get('location')!
    expect(returnPath).toMatch(/^\/billing\/return\?tx=[\w-]+$/)
    expect(textOf(await web.page(returnPath))).toContain('Waiting for the bank')
    const tx = returnPath.split('tx=')[1]!
    const status = async () =>
      ((await (await web.get(`/billing/return/status?tx=${tx}`)).json()) as { status: string })
        .status
    expect(await status()).toBe('pending')

    f.fake.pay(paymentId)
    expect((await f.deliver('payment.succeeded', paymentId)).status).toBe(200)
    expect(await status()).toBe('succeeded')
    const done = textOf(await web.page(returnPath))
    expect(done).toContain('Payment received: you are on “Pro”.')
    expect(done).toContain('0 of 10,000 used')

    // Someone else's transaction is not shown.
    const other = await signInWeb(f.h, f.base, 'other')
    expect((await other.get(`/billing/return/status?tx=${tx}`)).status).toBe(404)
    expect(textOf(await other.page(returnPath))).toContain('No payment found.')

    // The console: the notification's outcome, then a refund visible in the payer's history.
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    expect(textOf(await admin.page('/admin/webhooks'))).toContain(
      `payment.succeeded ${paymentId} applied: credited`,
    )
    expect(textOf(await admin.page(`/admin/transactions/${tx}/refund`))).toContain(
      'Refund RUB 990.00',
    )
    const refund = await admin.post(`/admin/transactions/${tx}/refund`, { amount: '400.00' })
    expect(refund.status, await refund.text()).toBe(303)
    expect(refund.headers.get('location')).toBe('/admin/users/buyer?notice=refunded')
    const history = textOf(await web.page('/billing'))
    // A refund row says what became of the refund; a payment refunded in part says so.
    expect(history).toMatch(/Refund −RUB 400\.00 Refund made/)
    expect(history).toMatch(
      /Payment RUB 990\.00 RUB 400\.00 refunded Partly refunded [0-9a-f-]{36}/,
    )
  })

  it('cancel at period end, then now: a confirmation page, then the service', async () => {
    await f.creditedCheckout('payer', { email: 'payer@example.com' })
    const web = await signInWeb(f.h, f.base, 'payer')
    expect(textOf(await web.page('/billing/cancel?when=end'))).toContain(
      'stays active with its quota until',
    )
    const end = await web.post('/billing/cancel', { when: 'end' })
    expect(end.headers.get('location')).toBe('/billing?notice=canceled_end')
    expect(textOf(await web.page('/billing?notice=canceled_end'))).toContain(
      'Canceled: stays active until',
    )
    const now = await web.post('/billing/cancel', { when: 'now' })
    expect(now.headers.get('location')).toBe('/billing?notice=canceled_now')
    expect(textOf(await web.page('/billing'))).toContain('Your plan: Free')
    const again = await web.post('/billing/cancel', { when: 'now' })
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('The default plan cannot be canceled')
  })

  it('console plans: the API schema validates the form; an edit shows on the payer page at once', async () => {
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const payer = await signInWeb(f.h, f.base, 'payer')
    const form = {
      name: 'Pro',
      price: '12.345',
      currency: 'RUB',
      interval: 'month',
      quota_requests: '-5',
      is_active: 'on',
      display_order: '1',
    }
    const bad = await admin.post('/admin/plans/pro', form)
    const badHtml = await bad.text()
    expect(bad.status).toBe(400)
    expect(badHtml).toContain(
      'id="e-price">must be a non-negative amount with at most two decimals',
    )
    expect(badHtml).toMatch(/id="e-quota_requests">[^<]*&gt;=/)
    expect(textOf(await payer.page('/billing'))).toContain('RUB 990/month')

    const ok = await admin.post('/admin/plans/pro', {
      ...form,
      price: '1290',
      quota_requests: '20000',
    })
    expect(ok.headers.get('location')).toBe('/admin/plans?notice=plan_saved')
    const text = textOf(await payer.page('/billing'))
    expect(text).toContain('Upgrade to Pro for RUB 1,290/month')
    expect(text).toContain('Requests: 20,000')

    const created = await admin.post('/admin/plans', {
      ...form,
      id: 'team',
      name: 'Team',
      price: '5000',
      quota_requests: '',
    })
    expect(created.status, await created.text()).toBe(303)
    const up = await admin.post('/admin/plans/team/move', { direction: 'up' })
    expect(up.status).toBe(303)
    const plans = await admin.page('/admin/plans')
    expect([...plans.matchAll(/<tr data-plan="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'free',
      'team',
      'pro',
    ])
    await admin.post('/admin/plans/team/active', { active: 'off' })
    expect(textOf(await payer.page('/billing'))).not.toContain('Team')
  })

  it('console health: the database and each upstream, checked now', async () => {
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const text = textOf(await admin.page('/admin/health'))
    expect(text).toContain(`reachable ${TEST_DIALECT}`)
    expect(text).toMatch(/default http:\/\/127\.0\.0\.1:\d+\/v1 API key set answered 200 in \d+ ms/)
    expect(text).toContain('YooKassa configured')
    expect(await admin.page('/admin/health')).not.toContain('sk-up')
  })
})
