import type { ExchangeRate } from '../../payments/exchange-rates.repo.ts'
import type { MonthFigures, MonthlyMargin } from '../../payments/margin-monthly.ts'
import { type Column, DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatMoney, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { AdminNav, Notice } from './admin-users.tsx'

export interface MonthsQuery {
  from: string
  to: string
}

/** Millionths -> "92.5" (exact). */
function rateText(micros: number): string {
  const whole = Math.floor(micros / 1_000_000)
  const part = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '')
  return part ? `${whole}.${part}` : String(whole)
}

/**
 * GET /admin/margin/months: revenue, upstream cost and margin per month in the
 * shop currency, the dated exchange rates they use, and the form that sets one.
 */
export function renderMarginMonths(
  c: WebContext,
  query: MonthsQuery,
  report: MonthlyMargin,
  rates: { list: ExchangeRate[]; fixedMicros: number | undefined },
  notice: string | undefined,
) {
  const lang = c.get('lang')
  const shop = report.shop_currency
  const price = report.cost_currency
  const money = (minor: number | null, currency: string) =>
    minor === null ? '—' : formatMoney(lang, minor, currency)
  const columns: Array<Column<{ label: string; figures: Omit<MonthFigures, 'month'> }>> = [
    { head: t(lang, 'margin_month'), rowHeader: true, cell: (r) => r.label },
    {
      head: t(lang, 'margin_revenue', { currency: shop }),
      num: true,
      cell: (r) => money(r.figures.revenue_minor, shop),
    },
    {
      head: t(lang, 'margin_cost', { currency: price }),
      num: true,
      // Micro-units shown to the cent: the exact figure is in the CSV.
      cell: (r) => money(Math.ceil(r.figures.cost_micros / 10_000), price),
    },
    {
      head: t(lang, 'margin_cost_converted', { currency: shop }),
      num: true,
      cell: (r) => money(r.figures.cost_minor, shop),
    },
    {
      head: t(lang, 'margin_margin', { currency: shop }),
      num: true,
      cell: (r) => money(r.figures.margin_minor, shop),
    },
  ]
  const csv = new URLSearchParams({ from: query.from, to: query.to })
  return renderPage(
    c,
    t(lang, 'admin_margin'),
    <>
      <AdminNav lang={lang} />
      <Notice text={notice} />
      <h2>{t(lang, 'margin_by_month', { currency: shop })}</h2>
      <form
        method="get"
        action="/admin/margin/months"
        class="inline"
        aria-label={t(lang, 'margin_months_form')}
      >
        <div>
          <label for="months-from">{t(lang, 'margin_from_month')}</label>
          <input id="months-from" name="from" type="month" value={query.from} required />
        </div>
        <div>
          <label for="months-to">{t(lang, 'margin_to_month')}</label>
          <input id="months-to" name="to" type="month" value={query.to} required />
        </div>
        <button type="submit">{t(lang, 'margin_show')}</button>
      </form>
      <p class="muted">{t(lang, 'margin_months_note')}</p>
      <p>
        <a class="button secondary" href={`/admin/margin/months.csv?${csv}`} download>
          {t(lang, 'margin_csv')}
        </a>
      </p>
      <DataTable
        rows={report.months.map((m) => ({ label: m.month, figures: m }))}
        foot={[{ label: t(lang, 'margin_total'), figures: report.totals }]}
        empty={t(lang, 'margin_empty')}
        caption={t(lang, 'margin_months_caption', { from: query.from, to: query.to })}
        columns={columns}
      />
      <h2>{t(lang, 'margin_rates')}</h2>
      {rates.fixedMicros !== undefined && (
        <p>{t(lang, 'margin_rate_fixed', { rate: rateText(rates.fixedMicros) })}</p>
      )}
      {rates.list.length === 0 ? (
        <p class="muted">{t(lang, 'margin_rate_none')}</p>
      ) : (
        <ul>
          {rates.list.map((r) => (
            <li>
              {new Date(r.validFrom * 1000).toISOString().slice(0, 10)}: {rateText(r.rateMicros)}{' '}
              {shop} / {price}
            </li>
          ))}
        </ul>
      )}
      <Form c={c} action="/admin/margin/rates" class="inline" label={t(lang, 'margin_rate_form')}>
        <div>
          <label for="rate-date">{t(lang, 'margin_rate_date')}</label>
          <input id="rate-date" name="date" type="date" required />
        </div>
        <div>
          <label for="rate-value">{t(lang, 'margin_rate_value', { shop, price })}</label>
          <input id="rate-value" name="rate" inputmode="decimal" required />
        </div>
        <button type="submit">{t(lang, 'margin_rate_save')}</button>
      </Form>
    </>,
  )
}
