import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import {
  BROWSER_TEST_MS,
  expectAccessible,
  SCREENSHOTS,
  signInByLink,
  skipBrowser,
} from './browser.ts'
import { useConsoleFixture } from './console-fixture.ts'

/** The operator's console in a real browser, and what the payer sees of its actions. */
describe.skipIf(skipBrowser)('console in Chromium', () => {
  const { f, browser, paidPayerAndAdminLink } = useConsoleFixture()

  it(
    'a plan edit shows on the payer page at once; a refund shows in the payer history',
    async () => {
      const adminLink = await paidPayerAndAdminLink()
      const payerLink = await mintSignInLink(f.h.deps, 'payer', { baseUrl: f.base })
      const { context: adminContext, page: admin, errors } = await browser.open()
      const { context: payerContext, page: payer } = await browser.open()

      await signInByLink(admin, adminLink)
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

      await signInByLink(payer, payerLink.url)
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
