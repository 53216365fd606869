import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import fileConfig from '../../gateway.config.ts'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import {
  BROWSER_TEST_MS,
  expectAccessible,
  SCREENSHOTS,
  signInByLink,
  skipBrowser,
  useBrowser,
} from './browser.ts'

/** The shipped plans, with a free plan of 3 requests: a test can spend it in three calls. */
const plans = (fileConfig.plans ?? []).map((plan) =>
  plan.id === 'free' ? { ...plan, quotas: { ...plan.quotas, requests: 3 } } : plan,
)

/**
 * The payer always knows the next step: a spent quota says so at the top with the upgrade,
 * an unfinished payment offers its page again, a decline says why and offers a retry, a
 * cancel at period end can be taken back, and a phone shows every column.
 */
describe.skipIf(skipBrowser)("the payer's next step in Chromium", () => {
  const f = usePaymentsFixture({
    upstream: true,
    config: { plans },
    env: { BILLING_RETURN_HOSTS: '127.0.0.1:9,app.example', PUBLIC_URL: 'http://127.0.0.1:9' },
  })
  const browser = useBrowser()
  const link = async (user: string) =>
    (await mintSignInLink(f.h.deps, user, { baseUrl: f.base, email: `${user}@example.com` })).url

  it(
    'a spent quota: the banner on top upgrades; a pending payment continues; a decline names the reason and tries again',
    async () => {
      await f.chat('spender', 3)
      const { context, page, errors } = await browser.open()
      await signInByLink(page, await link('spender'))

      const banner = page.getByTestId('quota-banner')
      await banner.getByText('The Requests quota is used up').waitFor()
      // On the first screen, above everything else of the page.
      const box = await banner.boundingBox()
      expect(box!.y + box!.height).toBeLessThan(760)
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-quota-banner.png') })

      await page.route('https://yoomoney.ru/**', (route) =>
        route.fulfill({ contentType: 'text/html', body: '<title>YooKassa</title><p>Pay</p>' }),
      )
      await banner.getByRole('button', { name: 'Upgrade to Pro for RUB 990/month' }).click()
      await page.waitForURL(/yoomoney\.ru/)
      const paymentId = [...f.fake.payments.keys()][0]!
      const confirmation = f.fake.payments.get(paymentId)!.confirmation.confirmation_url

      // Left unpaid: /billing and the return page offer the payment page again, or the plans.
      await page.goto(`${f.base}/billing`)
      const step = page.getByTestId('payment-next-step')
      await step.getByText('Your payment for “Pro”').waitFor()
      expect(
        await step.getByRole('link', { name: 'Continue to payment' }).getAttribute('href'),
      ).toBe(confirmation)
      await step.getByRole('link', { name: 'Choose again' }).waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-pending.png') })
      await page.goto(`${f.base}/billing/return`)
      await page.getByText('Waiting for the bank').waitFor()
      await page.getByRole('link', { name: 'Continue to payment' }).waitFor()

      // Declined by the bank: the return page moves on by itself and says why.
      f.fake.cancel(paymentId, 'insufficient_funds', 'payment_network')
      expect((await f.deliver('payment.canceled', paymentId)).status).toBe(200)
      await page.getByText('not enough money on the card').waitFor({ timeout: 10_000 })
      await expectAccessible(page)
      await page.goto(`${f.base}/billing`)
      await step.getByText('was declined: not enough money on the card').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-declined.png') })
      await step.getByRole('button', { name: 'Try again' }).click()
      await page.waitForURL(/yoomoney\.ru/)
      expect(f.fake.payments.size).toBe(2)
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )

  it(
    'renewal is stated plainly; cancel at period end, then resume',
    async () => {
      await f.creditedCheckout('renewer')
      const { context, page, errors } = await browser.open()
      await signInByLink(page, await link('renewer'))
      await page
        .getByTestId('renewal')
        .getByText('Does not renew by itself: pay again before')
        .waitFor()
      await page.getByRole('link', { name: 'Cancel at period end' }).click()
      await page.getByRole('button', { name: 'Yes, cancel' }).click()
      await page.getByText('Canceled: stays active until').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-resume.png') })
      await page.getByRole('button', { name: 'Resume subscription' }).click()
      await page.getByText('Resumed: your plan continues').waitFor()
      await page.getByTestId('renewal').waitFor()
      expect(await page.getByText('Canceled: stays active until').count()).toBe(0)
      const sub = await f.h.db
        .selectFrom('billing_subscription')
        .select(['plan_id', 'cancel_at_period_end', 'status'])
        .where('user_id', '=', 'renewer')
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow()
      expect(sub).toEqual({ plan_id: 'pro', cancel_at_period_end: 0, status: 'active' })
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )

  it(
    'at 390 px the history keeps its Status column and the chart its readable labels; in Russian',
    async () => {
      await f.creditedCheckout('phone')
      await f.chat('phone', 2)
      const { context, page, errors } = await browser.open('ru-RU')
      await page.setViewportSize({ width: 390, height: 844 })
      await signInByLink(page, await link('phone'))
      const row = page.locator('tr[data-tx]').first()
      const status = row.locator('td[data-label="Статус"]')
      await status.getByText('Оплачен').waitFor()
      // The cell is inside the screen, not cut off to the right.
      const cell = await status.boundingBox()
      expect(cell!.x + cell!.width, JSON.stringify(cell)).toBeLessThanOrEqual(390)
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      // The phone's chart: its labels drawn at least 10 px high on screen.
      const chart = page.locator('figure.chart.narrow svg')
      await chart.waitFor()
      const labelHeight = await chart.locator('text').first().boundingBox()
      expect(labelHeight!.height, JSON.stringify(labelHeight)).toBeGreaterThanOrEqual(10)
      expect(await page.locator('figure.chart.wide').isVisible()).toBe(false)
      // Plan cards name models, not feature ids; plan names are quoted in sentences.
      expect(await page.getByText('gpt35_access').count()).toBe(0)
      await page.locator('[data-plan="pro"]').getByText('Модели: gpt-3.5-…').waitFor()
      await page.getByText('чтобы сохранить тариф «Профессиональный»').waitFor()
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-390.png'), fullPage: true })
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
