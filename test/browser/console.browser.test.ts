import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import {
  BROWSER_TEST_MS,
  type Browser,
  expectAccessible,
  launch,
  newContext,
  SCREENSHOTS,
  skipBrowser,
  watchConsole,
} from './browser.ts'

/** The operator's console in a real browser, and what the payer sees of its actions. */
describe.skipIf(skipBrowser)('console in Chromium', () => {
  const f = usePaymentsFixture({ upstream: true })
  let browser: Browser
  beforeAll(async () => {
    browser = await launch()
  })
  afterAll(() => browser?.close())

  it(
    'a plan edit shows on the payer page at once; a refund shows in the payer history',
    async () => {
      await f.creditedCheckout('payer', { email: 'payer@example.com' })
      const adminLink = await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' })
      const payerLink = await mintSignInLink(f.h.deps, 'payer', { baseUrl: f.base })
      const adminContext = await newContext(browser)
      const admin = await adminContext.newPage()
      const errors = watchConsole(admin)
      const payerContext = await newContext(browser)
      const payer = await payerContext.newPage()

      await admin.goto(adminLink.url)
      expect(admin.url()).toBe(`${f.base}/admin`)
      await admin.getByRole('link', { name: 'payer' }).waitFor()
      await expectAccessible(admin)
      await admin.screenshot({ path: join(SCREENSHOTS, 'console.png') })

      await admin.getByRole('link', { name: 'Plans' }).click()
      await admin.getByRole('link', { name: 'Pro', exact: true }).click()
      await admin.getByLabel('Price (e.g. 990.00)').fill('12.345')
      await admin.getByRole('button', { name: 'Save' }).click()
      await admin.getByText('must be a non-negative amount with at most two decimals').waitFor()
      await expectAccessible(admin)
      await admin.getByLabel('Price (e.g. 990.00)').fill('1290')
      await admin.getByRole('button', { name: 'Save' }).click()
      await admin.getByText('Plan saved.').waitFor()

      await payer.goto(payerLink.url)
      await payer.getByRole('button', { name: 'Extend Pro for RUB 1,290/month' }).waitFor()

      await admin.goto(`${f.base}/admin/users/payer`)
      await admin.getByRole('link', { name: 'Refund' }).click()
      await admin.getByRole('button', { name: 'Refund RUB 990.00' }).click()
      await admin.getByText('Refund requested.').waitFor()
      await expectAccessible(admin)

      await payer.reload()
      const history = payer.locator('section', {
        has: payer.getByRole('heading', { name: 'Payment history' }),
      })
      await history.getByText('Refunded', { exact: true }).waitFor()
      await history.getByText('−RUB 990.00').waitFor()
      await expectAccessible(payer)
      // The one error is the 400 of the form sent back with its field error, as intended.
      expect(errors).toEqual([
        'Failed to load resource: the server responded with a status of 400 (Bad Request)',
      ])
      await adminContext.close()
      await payerContext.close()
    },
    BROWSER_TEST_MS,
  )
})
