import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import {
  BROWSER_TEST_MS,
  expectAccessible,
  type Page,
  SCREENSHOTS,
  signInByLink,
  skipBrowser,
} from './browser.ts'
import { useConsoleFixture } from './console-fixture.ts'

/**
 * The operator's actions that can hurt a customer, in a real browser: a grant
 * happens only once a confirmation has named what changes, the same paid plan
 * is extended, a user can be disabled and their keys managed, and a payment is
 * found by its YooKassa id and refunded in part with the amount on the button.
 */
describe.skipIf(skipBrowser)('console operator actions in Chromium', () => {
  const { f, browser, paidPayerAndAdminLink } = useConsoleFixture()

  const payerLive = () =>
    f.h.db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('user_id', '=', 'payer')
      .where('status', 'in', ['active', 'past_due'])
      .executeTakeFirstOrThrow()

  const section = (page: Page, heading: string) =>
    page.locator('section', { has: page.getByRole('heading', { name: heading, exact: true }) })

  it(
    'a paid user is not downgraded by an unconfirmed click; granting the same plan extends paid time',
    async () => {
      const adminLink = await paidPayerAndAdminLink()
      const paid = await payerLive()
      expect(paid.plan_id).toBe('pro')
      const { context, page, errors } = await browser.open()
      await signInByLink(page, adminLink)
      await page.goto(`${f.base}/admin/users/payer`)
      await expectAccessible(page)

      // The click a hurried operator makes: the grant form's button, nothing chosen.
      const grant = section(page, 'Grant a plan')
      await grant.getByRole('button').click()
      await page.waitForLoadState('networkidle')
      expect(await payerLive(), 'still on Pro, paid time untouched').toEqual(paid)

      await grant.getByLabel('Plan').selectOption({ label: 'Pro' })
      await grant.getByRole('button').click()
      const effect = page.getByTestId('grant-effect')
      await effect.waitFor()
      expect(await effect.textContent()).toBe(
        '"Pro" paid until Feb 15, 2026 is extended to Mar 15, 2026 (1 month(s) more). The current period and its usage stay.',
      )
      expect(await payerLive(), 'nothing changes before the confirmation').toEqual(paid)
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-grant-confirm.png') })

      await page.getByRole('button', { name: 'Confirm: grant "Pro"' }).click()
      await page.getByText('Plan granted.').waitFor()
      const extended = await payerLive()
      expect(extended).toMatchObject({
        id: paid.id,
        plan_id: 'pro',
        current_period_start: paid.current_period_start,
        paid_until: Date.UTC(2026, 2, 15, 12) / 1000,
      })

      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.locator('tr[data-audit="grant"]').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-audit.png') })
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )

  it(
    "the user's page: account, last requests, keys created and revoked, disable and enable, billing read-only",
    async () => {
      const adminLink = await paidPayerAndAdminLink()
      await f.chat('payer', 2, { email: 'payer@example.com' })
      const token = await f.h.token({ sub: 'payer' })
      f.h.clock.advance(1_000)
      // A model no plan grants: refused at admission, listed with its reason.
      const refused = await fetch(`${f.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-search-preview',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      })
      expect(refused.status).toBe(403)
      const refusedMessage = ((await refused.json()) as { error: { message: string } }).error
        .message
      await f.h.deps.pendingSettles.idle(5_000)
      const callAsPayer = () =>
        fetch(`${f.base}/api/v1/keys`, { headers: { authorization: `Bearer ${token}` } })
      const { context, page, errors } = await browser.open()
      await signInByLink(page, adminLink)
      await page.goto(`${f.base}/admin/users/payer`)

      const requests = section(page, 'Last requests')
      // Newest first: the refusal (its code and message), then the two settled (200, a latency).
      expect(await requests.locator('tr[data-request]').count()).toBe(3)
      const outcomes = requests.locator('tr[data-outcome]')
      expect(await outcomes.evaluateAll((rows) => rows.map((r) => r.dataset.outcome))).toEqual([
        'refused',
        'settled',
        'settled',
      ])
      const refusal = requests.locator('tr[data-outcome="refused"]')
      expect(await refusal.locator('[data-refusal]').textContent()).toBe(
        `refused: model_not_allowed: ${refusedMessage}`,
      )
      expect(await refusal.textContent()).toContain('403')
      for (const row of await requests.locator('tr[data-outcome="settled"]').all()) {
        expect(await row.textContent()).toMatch(/200\d+ ms/)
      }
      const keys = section(page, 'API keys')
      await keys.getByLabel('New key name').fill('ops laptop')
      await keys.getByLabel('Expires in days (empty: never)').fill('30')
      await keys.getByRole('button', { name: 'Create a key for this user' }).click()
      const key = (await page.locator('#new-key').textContent())!.trim()
      expect(key).toMatch(/^sk-/)
      const byKey = await fetch(`${f.base}/api/v1/keys`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(byKey.status, 'the key works for the user').toBe(200)
      await page.getByRole('link', { name: 'Back to the console' }).click()
      await keys.getByText('Feb 14, 2026').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-user.png'), fullPage: true })

      await page.getByRole('button', { name: 'Disable this user' }).click()
      await page.getByText('User disabled.').waitFor()
      expect((await callAsPayer()).status, 'disabled: refused at once').toBe(403)
      await page.getByRole('button', { name: 'Enable this user' }).click()
      await page.getByText('User enabled.').waitFor()
      expect((await callAsPayer()).status, 'enabled again').toBe(200)

      await keys.getByRole('button', { name: 'Revoke ops laptop' }).click()
      await page.getByText('The key was revoked.').waitFor()
      const revoked = await fetch(`${f.base}/api/v1/keys`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(revoked.status).toBe(401)

      await page.getByRole('link', { name: 'View billing as this user' }).click()
      await page.getByTestId('read-only').waitFor()
      expect(await page.locator('main form').count(), 'no form acts from this view').toBe(0)
      await page.getByText('Your plan: Pro').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-billing-as.png') })
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )

  it(
    'a payment found by its YooKassa id, refunded in part: the button names the amount typed',
    async () => {
      const adminLink = await paidPayerAndAdminLink()
      const payment = await f.h.db
        .selectFrom('billing_transaction')
        .selectAll()
        .where('user_id', '=', 'payer')
        .executeTakeFirstOrThrow()
      const { context, page, errors } = await browser.open()
      await signInByLink(page, adminLink)

      await page
        .getByLabel('User id, email or YooKassa payment id')
        .fill(payment.provider_payment_id!)
      await page.getByRole('button', { name: 'Search' }).click()
      await page.waitForURL(/\/admin\/users\/payer/)
      const history = section(page, 'Payment history')
      await history.getByText(payment.provider_payment_id!).waitFor()

      await history.getByRole('link', { name: 'Refund' }).click()
      const button = page.locator('#refund-submit')
      // Intl puts a no-break space between the currency and the amount.
      const label = async () => (await button.textContent())!.replace(/\s/g, ' ')
      expect(await label()).toBe('Refund RUB 990.00')
      await page.getByLabel('Amount to refund').fill('400')
      expect(await label(), 'the label follows the amount typed').toBe('Refund RUB 400.00')
      await expectAccessible(page)
      await button.click()
      await page.getByText('Refund requested.').waitFor()
      await history.getByText('Partly refunded').waitFor()
      await history.getByText('Refund made').waitFor()

      await page.getByRole('link', { name: 'Webhook events' }).click()
      const row = page.locator('tr', { hasText: payment.provider_payment_id! }).first()
      await row.getByRole('link', { name: payment.id }).click()
      await page.waitForURL(/\/admin\/users\/payer\?tx=/)
      await page.getByRole('link', { name: 'Webhook events' }).click()
      await page
        .getByLabel('YooKassa payment id or transaction id')
        .fill(payment.provider_payment_id!)
      await page.getByRole('button', { name: 'Find a payment' }).click()
      await page.waitForURL(/\/admin\/users\/payer\?tx=/)

      const payerLink = await mintSignInLink(f.h.deps, 'payer', { baseUrl: f.base })
      const { context: payerContext, page: payer } = await browser.open('ru-RU')
      await signInByLink(payer, payerLink.url)
      const payerHistory = section(payer, 'История платежей')
      await payerHistory.getByText('Частично возвращён').waitFor()
      await payerHistory.getByText('Возврат выполнен').waitFor()
      await payerHistory.getByText(payment.provider_payment_id!).waitFor()
      expect(await payerHistory.getByText('Оплачен', { exact: true }).count()).toBe(0)
      expect(errors).toEqual([])
      await payerContext.close()
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
