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

/** Promo codes in a real browser: the operator creates one, a payer redeems it and pays less. */
describe.skipIf(skipBrowser)('promo codes in Chromium', () => {
  const f = usePaymentsFixture({
    // Return hosts carry the port: PUBLIC_URL names a fixed one (only the return URL uses it).
    env: { BILLING_RETURN_HOSTS: '127.0.0.1:9', PUBLIC_URL: 'http://127.0.0.1:9' },
  })
  const browser = useBrowser()

  it(
    'the console shows a new code once; the payer applies it on /billing and YooKassa is asked for the discounted price',
    async () => {
      const adminLink = (await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' }))
        .url
      const operator = await browser.open()
      await signInByLink(operator.page, adminLink)
      await operator.page.getByRole('link', { name: 'Promo codes' }).click()
      await operator.page.getByLabel('Label (for you)').fill('Launch week')
      await operator.page.getByLabel('Gives').selectOption('discount')
      await operator.page.getByLabel('Plan').selectOption('pro')
      await operator.page.getByLabel('Percent off').fill('20')
      await operator.page.getByLabel('Uses (empty: unlimited)').fill('100')
      await operator.page.getByRole('button', { name: 'Create a code' }).click()
      const shown = await operator.page.getByTestId('promo-created').textContent()
      const code = /The code is ([0-9A-Z-]+)\./.exec(shown ?? '')?.[1]
      expect(code, shown ?? '').toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
      await expectAccessible(operator.page)
      // Shown once: the list has only its last characters.
      await operator.page.goto(`${f.base}/admin/promo`)
      expect(await operator.page.getByText(code!).count()).toBe(0)
      await operator.page.getByRole('rowheader', { name: 'Launch week' }).waitFor()

      const payerLink = await mintSignInLink(f.h.deps, 'newbie', {
        baseUrl: f.base,
        email: 'newbie@example.com',
      })
      const payer = await browser.open()
      await signInByLink(payer.page, payerLink.url)
      await payer.page.getByLabel('Code', { exact: true }).fill(code!.toLowerCase())
      await payer.page.getByRole('button', { name: 'Apply' }).click()
      await payer.page.getByText('Promo code applied.').waitFor()
      await payer.page.getByText('20 % off your next payment for «Pro».').waitFor()
      await expectAccessible(payer.page)
      await payer.page.screenshot({ path: join(SCREENSHOTS, 'billing-promo.png') })

      // A wrong code is an error on the same page, not a dead end.
      await payer.page.getByLabel('Code', { exact: true }).fill('NOT-A-REAL-CODE')
      await payer.page.getByRole('button', { name: 'Apply' }).click()
      await payer.page.getByText('No such promo code, or it has expired').waitFor()

      await payer.page.route('https://yoomoney.ru/**', (route) =>
        route.fulfill({ contentType: 'text/html', body: '<title>YooKassa</title><p>Pay</p>' }),
      )
      await payer.page.getByRole('button', { name: /Upgrade to Pro/ }).click()
      await payer.page.waitForURL(/yoomoney\.ru/)
      const sent = f.fake.requestsTo('POST', /^\/payments$/).at(-1)
      expect(sent?.body?.amount).toEqual({ value: '792.00', currency: 'RUB' })

      await operator.page.goto(`${f.base}/admin/promo`)
      await operator.page.getByRole('link', { name: 'newbie' }).waitFor()
      await operator.page.getByText('in a checkout').waitFor()
      await expectAccessible(operator.page)
      await operator.page.screenshot({ path: join(SCREENSHOTS, 'admin-promo.png'), fullPage: true })
      expect(operator.errors).toEqual([])
      // The one the wrong code's answer logs: the page comes back with its 404 status.
      expect(payer.errors).toEqual([expect.stringMatching(/status of 404/)])
      await operator.context.close()
      await payer.context.close()
    },
    BROWSER_TEST_MS,
  )
})
