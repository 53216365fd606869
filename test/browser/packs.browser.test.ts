import { describe, expect, it } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import {
  BROWSER_TEST_MS,
  expectAccessible,
  signInByLink,
  skipBrowser,
  useBrowser,
} from './browser.ts'

/** Prepaid packs in a real browser: bought on /billing, shown there and in the console. */
describe.skipIf(skipBrowser)('prepaid packs in Chromium', () => {
  const f = usePaymentsFixture({
    env: { BILLING_RETURN_HOSTS: '127.0.0.1:9', PUBLIC_URL: 'http://127.0.0.1:9' },
    config: {
      packs: [
        {
          id: 'tokens1m',
          name: '1M input tokens',
          name_ru: '1 млн входных токенов',
          metric: 'tokens_input',
          amount: 1_000_000,
          price: '500.00',
          validity_days: 365,
        },
      ],
    },
  })
  const browser = useBrowser()

  it(
    'the payer buys a pack on /billing and sees its balance, expiry and history; the console shows it and the definitions',
    async () => {
      const link = await mintSignInLink(f.h.deps, 'buyer', {
        baseUrl: f.base,
        email: 'b@example.com',
      })
      const payer = await browser.open()
      await signInByLink(payer.page, link.url)
      await payer.page.getByRole('heading', { name: 'Prepaid packs' }).waitFor()
      await payer.page.getByText('No packs bought yet.').waitFor()
      await expectAccessible(payer.page)

      await payer.page.route('https://yoomoney.ru/**', (route) =>
        route.fulfill({ contentType: 'text/html', body: '<title>YooKassa</title><p>Pay</p>' }),
      )
      await payer.page.getByRole('button', { name: /Buy 1M input tokens for/ }).click()
      await payer.page.waitForURL(/yoomoney\.ru/)
      const sent = f.fake.requestsTo('POST', /^\/payments$/).at(-1)
      expect(sent?.body?.amount).toEqual({ value: '500.00', currency: 'RUB' })
      const paymentId = f.fake.requestsTo('POST', /^\/payments$/).length
      expect(paymentId).toBe(1)
      const [payment] = await f.h.db.selectFrom('billing_transaction').selectAll().execute()
      f.fake.pay(payment!.provider_payment_id!)
      const note = await f.deliver('payment.succeeded', payment!.provider_payment_id!)
      expect(note.status, note.body).toBe(200)

      await payer.page.goto(`${f.base}/billing`)
      const balance = payer.page.getByTestId('pack-balance')
      await balance.locator('[data-metric="tokens_input"]').getByText('1,000,000').waitFor()
      const row = payer.page.locator('tr[data-holding]')
      expect(await row.textContent()).toMatch(
        /tokens1m.*Input tokens.*1,000,000 \/ 1,000,000.*active/,
      )
      await payer.page.getByRole('cell', { name: 'bought' }).waitFor()
      await expectAccessible(payer.page)

      // The same page in Russian.
      const russian = await browser.open('ru-RU')
      await signInByLink(
        russian.page,
        (await mintSignInLink(f.h.deps, 'buyer', { baseUrl: f.base })).url,
      )
      await russian.page.getByRole('heading', { name: 'Пакеты', exact: true }).waitFor()
      await russian.page.getByRole('cell', { name: 'покупка' }).waitFor()
      await expectAccessible(russian.page)

      const admin = await browser.open()
      const adminLink = await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' })
      await signInByLink(admin.page, adminLink.url)
      await admin.page.goto(`${f.base}/admin/users/buyer`)
      await admin.page.getByRole('heading', { name: 'Prepaid packs' }).waitFor()
      expect(await admin.page.locator('tr[data-holding]').textContent()).toMatch(/tokens1m/)
      await expectAccessible(admin.page)
      await admin.page.goto(`${f.base}/admin/plans`)
      await admin.page.getByRole('heading', { name: 'Prepaid packs on sale' }).waitFor()
      expect(await admin.page.locator('tr[data-pack="tokens1m"]').textContent()).toMatch(/365/)
      await expectAccessible(admin.page)
      expect(payer.errors).toEqual([])
      expect(admin.errors).toEqual([])
      for (const opened of [payer, russian, admin]) await opened.context.close()
    },
    BROWSER_TEST_MS,
  )
})
