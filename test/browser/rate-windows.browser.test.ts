import { describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import { call } from '../helpers/billing.ts'
import { BROWSER_TEST_MS, expectAccessible, signInByLink, skipBrowser } from './browser.ts'
import { useConsoleFixture } from './console-fixture.ts'

/** A plan's rate windows (docs/quotas.md) as the console and the payer's page show them. */
describe.skipIf(skipBrowser)('rate windows in Chromium', () => {
  const { f, browser, paidPayerAndAdminLink } = useConsoleFixture()

  it(
    "the console's plans list and the payer's plan cards show a plan's windows and its day's zone",
    async () => {
      const adminLink = await paidPayerAndAdminLink()
      const quotas = {
        requests_per_minute: 20,
        tokens_per_day: 200_000,
        window_time_zone: 'Europe/Moscow',
      }
      const patched = await call(
        f.h,
        'PATCH',
        '/api/v1/billing/plans/pro',
        { quotas },
        await f.h.adminToken(),
      )
      expect(patched.status, patched.text).toBe(200)
      const shown = '20 requests a minute · 200,000 tokens a day · days by Europe/Moscow time'

      const { page: admin, errors } = await browser.open()
      await signInByLink(admin, adminLink)
      await admin.goto(`${f.base}/admin/plans`)
      const row = admin.locator('tr', {
        has: admin.getByRole('link', { name: 'Pro', exact: true }),
      })
      await expect.poll(() => row.locator('[data-rate-windows]').textContent()).toBe(shown)
      await expectAccessible(admin)

      const { page: payer } = await browser.open()
      await signInByLink(payer, (await mintSignInLink(f.h.deps, 'payer', { baseUrl: f.base })).url)
      const card = payer.locator('[data-plan="pro"]')
      await expect
        .poll(() => card.locator('[data-rate-window]').allTextContents())
        .toEqual(['20 requests a minute', '200,000 tokens a day', 'days by Europe/Moscow time'])
      // A plan without windows lists none.
      expect(
        await payer.locator('article.plan:not([data-plan="pro"]) [data-rate-window]').count(),
      ).toBe(0)
      await expectAccessible(payer)
      expect(errors).toEqual([])
    },
    BROWSER_TEST_MS,
  )
})
