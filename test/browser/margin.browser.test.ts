import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import {
  BROWSER_TEST_MS,
  type Browser,
  expectAccessible,
  launch,
  newContext,
  skipBrowser,
  watchConsole,
} from './browser.ts'

/** The console's margin page in a real browser: reached from the nav, accessible, no CSP error. */
describe.skipIf(skipBrowser)('console margin in Chromium', () => {
  const f = usePaymentsFixture({ upstream: true })
  let browser: Browser
  beforeAll(async () => {
    browser = await launch()
  })
  afterAll(() => browser?.close())

  it(
    'the form regroups the report; Download CSV starts a download of the CSV',
    async () => {
      await f.creditedCheckout('payer', { email: 'payer@example.com' })
      const link = await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' })
      const context = await newContext(browser)
      const page = await context.newPage()
      const errors = watchConsole(page)
      await page.goto(link.url)
      await page.getByRole('link', { name: 'Margin' }).click()
      await page.getByRole('rowheader', { name: 'payer' }).waitFor()
      await expectAccessible(page)

      await page.getByLabel('Group by').selectOption('plan')
      await page.getByRole('button', { name: 'Show' }).click()
      await page.getByRole('rowheader', { name: 'pro' }).waitFor()
      await page.getByRole('rowheader', { name: 'Total' }).waitFor()
      await expectAccessible(page)

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download CSV' }).click(),
      ])
      expect(download.suggestedFilename()).toMatch(/^margin-plan-\d+-\d+\.csv$/)
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
