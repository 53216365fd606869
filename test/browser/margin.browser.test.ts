import { describe, expect, it } from 'vitest'
import { BROWSER_TEST_MS, expectAccessible, signInByLink, skipBrowser } from './browser.ts'
import { useConsoleFixture } from './console-fixture.ts'

/** The console's margin page in a real browser: reached from the nav, accessible, no CSP error. */
describe.skipIf(skipBrowser)('console margin in Chromium', () => {
  const { browser, paidPayerAndAdminLink } = useConsoleFixture()

  it(
    'the form regroups the report; Download CSV starts a download of the CSV',
    async () => {
      const link = await paidPayerAndAdminLink()
      const { context, page, errors } = await browser.open()
      await signInByLink(page, link)
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
