import { describe, expect, it } from 'vitest'
import { nowSeconds } from '../../src/lib/clock.ts'
import type { marginToJson } from '../../src/payments/margin.service.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/** The API's JSON report (GET /api/v1/billing/admin/margin), as the page must show it. */
type Report = ReturnType<typeof marginToJson>
type Figures = Report['totals']

const micros = (value: number) =>
  `${value < 0 ? '−' : ''}${Math.floor(Math.abs(value) / 1e6).toLocaleString('en-US')}.${String(Math.abs(value) % 1e6).padStart(6, '0')}`

/** What the page's row must read for the API's figures (English, prices and payments in RUB). */
const expectedCells = (label: string, r: Figures) =>
  [
    label,
    ...[
      r.requests,
      r.tokens_input_raw,
      r.tokens_input_weighted,
      r.tokens_output_raw,
      r.tokens_output_weighted,
    ].map((n) => n.toLocaleString('en-US')),
    r.cost,
    r.earned.RUB ? `RUB ${r.earned.RUB}` : '—',
    micros((r.earned_minor.RUB ?? 0) * 10_000 - r.cost_micros),
  ].join(' ')

/**
 * /admin/margin over HTTP on both databases: the API's margin report (same
 * service, same period) as a table with totals, and its CSV.
 */
describe(`console margin page (${TEST_DIALECT})`, () => {
  const f = usePaymentsFixture({
    upstream: true,
    config: {
      // Prices in the payments' currency, so a margin is shown: 100 / 300 RUB per 1M tokens.
      modelPrices: { 'gpt-3.5*': { input: '100', output: '300' } },
      priceCurrency: 'RUB',
      modelWeights: { 'gpt-3.5*': { input: 2, output: 3 } },
    },
  })

  it('shows the API figures with totals, serves the API CSV, and is for admins only', async () => {
    await f.creditedCheckout('payer', { email: 'payer@example.com' })
    await f.chat('payer', 2)
    await f.chat('light', 1)
    const day = new Date(nowSeconds(f.h.clock) * 1000).toISOString().slice(0, 10)
    const from = Date.parse(`${day}T00:00:00Z`) / 1000
    const to = from + 86_400
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const adminToken = await f.h.adminToken()
    const api = (group: string, format = 'json') =>
      f.h.json(
        'GET',
        `/api/v1/billing/admin/margin?from=${from}&to=${to}&group_by=${group}&format=${format}`,
        undefined,
        adminToken,
      )

    for (const group of ['user', 'plan', 'model']) {
      const report = (await (await api(group)).json()) as Report
      const html = await admin.page(`/admin/margin?from=${day}&to=${day}&group_by=${group}`)
      const totals = textOf(/<tr data-total="">([\s\S]*?)<\/tr>/.exec(html)![1]!).trim()
      expect(totals).toBe(expectedCells('Total', report.totals))
      for (const row of report.rows) {
        const cells = new RegExp(`<tr data-key="${row.key ?? ''}">([\\s\\S]*?)</tr>`).exec(html)
        expect(textOf(cells![1]!).trim()).toBe(expectedCells(row.key ?? '(none)', row))
      }

      const link = /href="(\/admin\/margin\.csv\?[^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&')
      const csv = await admin.get(link)
      expect(csv.status).toBe(200)
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
      expect(await csv.text()).toBe(await (await api(group, 'csv')).text())
    }

    // Hand-checked for the by-user report: 3 calls, RUB 990.00 earned (the payer's Pro only), cost = tokens x price.
    const byUser = (await (await api('user')).json()) as Report
    expect(byUser.totals.requests).toBe(3)
    expect(byUser.totals.earned).toEqual({ RUB: '990.00' })
    expect(byUser.totals.tokens_input_weighted).toBe(2 * byUser.totals.tokens_input_raw)
    expect(byUser.totals.cost_micros).toBe(
      byUser.totals.tokens_input_raw * 100 + byUser.totals.tokens_output_raw * 300,
    )
    const payer = textOf(await admin.page(`/admin/margin?from=${day}&to=${day}`))
    expect(payer).toContain(`payer 2 `)

    // In the console's navigation, in both languages.
    expect(await admin.page('/admin')).toContain('href="/admin/margin"')
    const ru = await signInWeb(f.h, f.base, 'boss', { role: 'admin', lang: 'ru' })
    const russian = textOf(await ru.page(`/admin/margin?from=${day}&to=${day}`))
    expect(russian).toContain('Итого 3 ')
    expect(russian).toContain('Скачать CSV')

    // A bad date is a 400 and the default period (the last 30 days) includes today.
    expect((await admin.get('/admin/margin?from=2026-02-31')).status).toBe(400)
    expect(textOf(await admin.page('/admin/margin'))).toContain(
      expectedCells('Total', byUser.totals),
    )

    // A payer's session gets what the other console pages give it: the 403 page, no figures.
    const user = await signInWeb(f.h, f.base, 'payer')
    const refusedConsole = await user.get('/admin/plans')
    for (const path of [`/admin/margin?from=${day}&to=${day}`, `/admin/margin.csv?from=${day}`]) {
      const refused = await user.get(path)
      expect(refused.status).toBe(refusedConsole.status)
      expect(refused.status).toBe(403)
      expect(await refused.text()).not.toContain('990.00')
    }
  })
})
