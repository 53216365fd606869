import type { MarginReport, MarginRow } from '../../payments/margin.service.ts'
import { type Column, DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatMoney, formatNumber, type Lang, t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import type { MarginQuery } from '../margin-query.ts'
import type { MessageKey } from '../messages.ts'
import { AdminNav } from './admin-users.tsx'

const MICROS_PER_MINOR = 10_000 // cost is in micro-units (10^-6), payments in minor units (10^-2)

/** Micro-units -> "0.003600" (ru: "0,003600"), exact: six decimals as the API's `cost`. */
function formatMicros(lang: Lang, micros: number): string {
  const sign = micros < 0 ? '−' : ''
  const abs = Math.abs(micros)
  const text = `${sign}${formatNumber(lang, Math.floor(abs / 1_000_000))}.${String(abs % 1_000_000).padStart(6, '0')}`
  return lang === 'ru' ? text.replace('.', ',') : text
}

type Figures = Omit<MarginRow, 'key'>

/**
 * The margin in the shop currency when an exchange rate is known (the row's
 * upstream cost converted day by day, `shopCost` in micro-units; earnings all
 * in the shop currency), else in the price currency when the earnings are in
 * it; else none, rather than a wrong figure (docs/weights.md).
 */
function marginMicros(
  report: MarginReport,
  r: Figures,
  shop: ShopCosts | null,
  shopCost: number | null | undefined,
): number | null {
  const currency = shop ? shop.currency : report.cost_currency
  const others = Object.keys(r.earned_minor).filter((c) => c !== currency)
  if (others.length > 0) return null
  const earned = (r.earned_minor[currency] ?? 0) * MICROS_PER_MINOR
  if (!shop) return earned - r.cost_micros
  return shopCost === null ? null : earned - (shopCost ?? 0)
}

/** The rows' upstream costs in the shop currency (margin-monthly.ts, shopCosts), by key. */
export interface ShopCosts {
  currency: string
  costs: Map<string | null, number | null>
}

/** A row of the table: its label (the group's key, or Total) and its figures. */
interface Line {
  label: string
  /** The row's cost in shop micro-units (undefined: no cost; null: a day without rate). */
  shopCost?: number | null
  data: Record<`data-${string}`, string>
  figures: Figures
}

/** The figure columns, in the API's order, with the margin last. */
function figureColumns(
  lang: Lang,
  report: MarginReport,
  shop: ShopCosts | null,
): Array<Column<Line>> {
  const currency = report.cost_currency
  const count = (head: MessageKey, pick: (r: Figures) => number): Column<Line> => ({
    head: t(lang, head),
    num: true,
    cell: (line) => formatNumber(lang, pick(line.figures)),
  })
  return [
    count('metric_requests', (r) => r.requests),
    count('margin_input_raw', (r) => r.tokens_input_raw),
    count('margin_input_weighted', (r) => r.tokens_input_weighted),
    count('margin_output_raw', (r) => r.tokens_output_raw),
    count('margin_output_weighted', (r) => r.tokens_output_weighted),
    {
      head: t(lang, 'margin_cost', { currency }),
      num: true,
      cell: (line) => formatMicros(lang, line.figures.cost_micros),
    },
    {
      head: t(lang, 'margin_earned'),
      num: true,
      cell: (line) => {
        const earned = Object.entries(line.figures.earned_minor)
        return earned.length === 0
          ? '—'
          : earned.map(([code, minor]) => formatMoney(lang, minor, code)).join(' + ')
      },
    },
    {
      head: t(lang, 'margin_margin', { currency: shop?.currency ?? currency }),
      num: true,
      cell: (line) => {
        const margin = marginMicros(report, line.figures, shop, line.shopCost)
        return margin === null ? '—' : formatMicros(lang, margin)
      },
    },
  ]
}

const GROUP_LABELS = { user: 'col_user', plan: 'col_plan', model: 'col_model' } as const

/** GET /admin/margin: the API's margin report for a period, as a table with totals. */
export function renderMargin(
  c: WebContext,
  query: MarginQuery,
  report: MarginReport,
  shop: ShopCosts | null = null,
) {
  const lang = c.get('lang')
  const params = new URLSearchParams({
    from: query.fromDate,
    to: query.toDate,
    group_by: query.group,
  })
  const currency = report.cost_currency
  return renderPage(
    c,
    t(lang, 'admin_margin'),
    <>
      <AdminNav lang={lang} />
      <form method="get" action="/admin/margin" class="inline" aria-label={t(lang, 'margin_form')}>
        <div>
          <label for="margin-from">{t(lang, 'margin_from')}</label>
          <input id="margin-from" name="from" type="date" value={query.fromDate} required />
        </div>
        <div>
          <label for="margin-to">{t(lang, 'margin_to')}</label>
          <input id="margin-to" name="to" type="date" value={query.toDate} required />
        </div>
        <div>
          <label for="margin-group">{t(lang, 'margin_group_by')}</label>
          <select id="margin-group" name="group_by">
            {(['user', 'plan', 'model'] as const).map((g) => (
              <option value={g} selected={query.group === g}>
                {t(lang, GROUP_LABELS[g])}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">{t(lang, 'margin_show')}</button>
      </form>
      <p class="muted">{t(lang, 'margin_note', { currency })}</p>
      <p>
        <a class="button secondary" href={`/admin/margin.csv?${params}`} download>
          {t(lang, 'margin_csv')}
        </a>{' '}
        <a href="/admin/margin/months">
          {t(lang, 'margin_by_month', { currency: c.get('deps').config.shopCurrency })}
        </a>
      </p>
      <DataTable
        rows={report.rows.map((r) => ({
          label: r.key ?? t(lang, 'margin_none'),
          data: { 'data-key': r.key ?? '' },
          figures: r,
          shopCost: shop?.costs.get(r.key),
        }))}
        foot={[
          {
            label: t(lang, 'margin_total'),
            data: { 'data-total': '' },
            figures: report.totals,
            shopCost: shop ? totalOf(shop.costs) : undefined,
          },
        ]}
        empty={t(lang, 'margin_empty')}
        caption={t(lang, 'margin_caption', { from: query.fromDate, to: query.toDate })}
        rowData={(line) => line.data}
        columns={[
          { head: t(lang, GROUP_LABELS[query.group]), rowHeader: true, cell: (line) => line.label },
          ...figureColumns(lang, report, shop),
        ]}
      />
    </>,
  )
}

function totalOf(costs: Map<string | null, number | null>): number | null {
  let total = 0
  for (const cost of costs.values()) {
    if (cost === null) return null
    total += cost
  }
  return total
}
