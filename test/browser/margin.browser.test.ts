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

  it(
    'the month view: a rate set through its form, revenue and margin in RUB, a dated CSV',
    async () => {
      const link = await paidPayerAndAdminLink()
      const { context, page, errors } = await browser.open()
      await signInByLink(page, link)
      await page.getByRole('link', { name: 'Margin' }).click()
      await page.getByRole('link', { name: 'By month, in RUB' }).click()
      await page.getByRole('heading', { name: 'By month, in RUB' }).waitFor()
      await expectAccessible(page)

      await page.getByLabel('From date (UTC)').fill('2026-01-01')
      await page.getByLabel('RUB per 1 USD').fill('92.5')
      await page.getByRole('button', { name: 'Save rate' }).click()
      await page.getByRole('status').filter({ hasText: 'The rate is saved.' }).waitFor()
      await page.getByText('2026-01-01: 92.5 RUB / USD').waitFor()
      // The payer's Pro (990 RUB) this month; no upstream cost yet, so the margin is the revenue.
      const month = page.getByRole('row', { name: /^2026-01/ })
      await expect.poll(() => month.textContent()).toContain('990.00')
      await expectAccessible(page)

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download CSV' }).click(),
      ])
      // The group view now shows its margin in roubles too.
      await page.getByRole('link', { name: 'Margin' }).click()
      await page.getByRole('columnheader', { name: 'Margin, RUB' }).waitFor()
      await expectAccessible(page)
      expect(download.suggestedFilename()).toMatch(/^margin-monthly-\d{4}-\d{2}_2026-01\.csv$/)
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
