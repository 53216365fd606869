import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
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

/** The payer's page in a real browser: sign in, usage, pay and return, cancel, keys, languages. */
describe.skipIf(skipBrowser)('billing page in Chromium', () => {
  const f = usePaymentsFixture({
    upstream: true,
    // Return hosts carry the port: PUBLIC_URL names a fixed one (only the return URL uses it).
    env: { BILLING_RETURN_HOSTS: '127.0.0.1:9', PUBLIC_URL: 'http://127.0.0.1:9' },
  })
  const browser = useBrowser()

  const link = async (user: string) =>
    (await mintSignInLink(f.h.deps, user, { baseUrl: f.base, email: `${user}@example.com` })).url

  it(
    'signs in by link, shows usage, pays on YooKassa, returns to the lifted quota, cancels',
    async () => {
      await f.chat('payer')
      await f.chat('payer')
      const { context, page, errors } = await browser.open()

      await signInByLink(page, await link('payer'))
      expect(page.url()).toBe(`${f.base}/billing`)
      await expect.poll(() => page.getByText('2 of 1,000 used').count()).toBe(1)
      await expect.poll(() => page.getByRole('img', { name: /Tokens per day/ }).count()).toBe(1)
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing.png') })

      // The Pay button: a POST that redirects to the payment's confirmation_url.
      let checkoutUrl = ''
      await page.route('https://yoomoney.ru/**', async (route) => {
        checkoutUrl = route.request().url()
        await route.fulfill({ contentType: 'text/html', body: '<title>YooKassa</title><p>Pay</p>' })
      })
      await page.getByRole('button', { name: 'Upgrade to Pro for RUB 990/month' }).click()
      await page.waitForURL(/yoomoney\.ru/)
      const paymentId = [...f.fake.payments.keys()][0]!
      expect(checkoutUrl).toBe(f.fake.payments.get(paymentId)!.confirmation.confirmation_url)

      // Back from YooKassa before the bank has answered: the page waits and polls.
      await page.goto(`${f.base}/billing/return`)
      await page.getByText('Waiting for the bank').waitFor()
      f.fake.pay(paymentId)
      expect((await f.deliver('payment.succeeded', paymentId)).status).toBe(200)
      await page.getByText('Payment received: you are on “Pro”.').waitFor({ timeout: 10_000 })
      await expect.poll(() => page.getByText('0 of 10,000 used').count()).toBe(1)
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'billing-return.png') })

      await page.goto(`${f.base}/billing`)
      expect(await page.getByTestId('current-plan').textContent()).toBe('Pro')
      await page.getByRole('link', { name: 'Cancel at period end' }).click()
      await page.getByText('stays active with its quota until').waitFor()
      await page.getByRole('button', { name: 'Yes, cancel' }).click()
      await page
        .getByText('Canceled: your plan stays active until the end of the period.')
        .waitFor()
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )

  it(
    'API keys: created and shown once, copied, revoked; in Russian, switchable to English',
    async () => {
      const { context, page, errors } = await browser.open('ru-RU')
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: f.base })

      // No session: the sign-in page explains how to get in.
      await page.goto(`${f.base}/billing`)
      expect(page.url()).toBe(`${f.base}/signin`)
      await page.getByText('gateway link --user').waitFor()

      await signInByLink(page, await link('keeper'))
      await page.getByRole('heading', { name: 'Тариф и оплата' }).waitFor()
      await expectAccessible(page)
      await page.getByLabel('Название ключа').fill('laptop')
      await page.getByRole('button', { name: 'Создать ключ' }).click()
      const key = (await page.locator('#new-key').textContent())!
      expect(key).toMatch(/^sk-[\w-]{43}$/)
      await page.getByRole('button', { name: 'Копировать' }).click()
      await page.getByRole('button', { name: 'Скопировано' }).waitFor()
      // biome-ignore lint/suspicious/noExplicitAny: the page's navigator (no DOM lib here)
      expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(
        key,
      )
      await expectAccessible(page)

      const models = () =>
        fetch(`${f.base}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
      expect((await models()).status).toBe(200)
      await page.goto(`${f.base}/billing`)
      await page.getByRole('button', { name: 'Отозвать ключ laptop' }).click()
      await page.getByText('Ключ отозван.').waitFor()
      expect((await models()).status).toBe(401)

      await page.getByRole('link', { name: 'English' }).click()
      await page.getByRole('heading', { name: 'Billing', exact: true }).waitFor()
      await expectAccessible(page)

      // A cross-site form post: SameSite=Lax keeps the session cookie off the POST, so it lands
      // on /signin (whose GET, a top-level navigation, does carry it and goes on to /billing),
      // and nothing is created.
      await page.route('http://evil.test/', (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<form method="post" action="${f.base}/billing/keys"><input name="name" value="evil"></form>
          <script>document.forms[0].submit()</script>`,
        }),
      )
      await page.goto('http://evil.test/')
      await page.waitForURL(`${f.base}/billing`)
      const keys = await f.h.db.selectFrom('gateway_api_key').select('name').execute()
      expect(keys.map((k) => k.name)).toEqual(['laptop'])
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
