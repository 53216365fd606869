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

const STARTER = {
  id: 'starter',
  name: 'Starter',
  price: 0,
  currency: 'RUB',
  interval: 'month' as const,
  quotas: { requests: 50 },
  features: ['gpt35_access'],
  is_active: true,
  display_order: 2,
}

/**
 * The default plan changed from the console, in a real browser: "Make default"
 * is confirmed on a page naming who falls to which plan, and the default plan
 * is deactivated only with its successor chosen in the same form.
 */
describe.skipIf(skipBrowser)('the default plan in the console, in Chromium', () => {
  const f = usePaymentsFixture({ config: { plans: [...(fileConfig.plans ?? []), STARTER] } })
  const browser = useBrowser()

  const state = async () => ({
    setting: (
      await f.h.db
        .selectFrom('gateway_setting')
        .select('value')
        .where('key', '=', 'default_plan_id')
        .executeTakeFirstOrThrow()
    ).value,
    starterActive: (
      await f.h.db
        .selectFrom('billing_plan')
        .select('is_active')
        .where('id', '=', 'starter')
        .executeTakeFirstOrThrow()
    ).is_active,
  })

  it(
    'Make default after a review; deactivating the default only with a new default chosen',
    async () => {
      const link = await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' })
      const { context, page, errors } = await browser.open()
      await signInByLink(page, link.url)
      await page.goto(`${f.base}/admin/plans`)
      await expectAccessible(page)

      await page.getByRole('link', { name: 'Make default: Starter' }).click()
      const effect = page.getByTestId('default-effect')
      await effect.waitFor()
      expect(await effect.textContent()).toContain(
        'New sign-ups and users whose subscription ends will fall to Starter instead of Free.',
      )
      expect(await state(), 'nothing changes before the confirmation').toEqual({
        setting: 'free',
        starterActive: 1,
      })
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-default-plan.png') })
      await page.getByRole('button', { name: 'Confirm: make Starter the default' }).click()
      await page.getByText('Default plan changed.').waitFor()
      expect(await state()).toEqual({ setting: 'starter', starterActive: 1 })

      // Starter is the default now: its row asks for the plan that takes its place.
      const row = page.locator('tr[data-plan="starter"]')
      const deactivate = row.getByRole('button', { name: 'Deactivate and switch the default' })
      await deactivate.click()
      // Nothing chosen: the form is not sent (and the server would refuse it, 409).
      expect(await page.url()).toBe(`${f.base}/admin/plans?notice=default_saved`)
      expect(await state()).toEqual({ setting: 'starter', starterActive: 1 })
      await expectAccessible(page)
      await page.screenshot({ path: join(SCREENSHOTS, 'console-plans-default.png') })

      await row.getByLabel('New default plan').selectOption({ label: 'Free' })
      await deactivate.click()
      await page.getByText('Plan saved.').waitFor()
      expect(await state()).toEqual({ setting: 'free', starterActive: 0 })

      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.locator('tr[data-audit="plan_default"]').waitFor()
      await page.locator('tr[data-audit="plan_active"]').waitFor()
      await expectAccessible(page)
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
