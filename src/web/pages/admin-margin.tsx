import type { MarginReport, MarginRow } from '../../payments/margin.service.ts'
import type { WebContext } from '../env.ts'
import { formatMoney, formatNumber, type Lang, t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import type { MarginQuery } from '../margin-query.ts'
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
 * Earnings minus upstream cost, only in the price currency: nothing converts
 * currencies (docs/weights.md), so a row with earnings in another currency
 * shows no margin rather than a wrong one.
 */
function marginMicros(report: MarginReport, r: Figures): number | null {
  const others = Object.keys(r.earned_minor).filter((c) => c !== report.cost_currency)
  if (others.length > 0) return null
  return (r.earned_minor[report.cost_currency] ?? 0) * MICROS_PER_MINOR - r.cost_micros
}

function Cells({ lang, report, r }: { lang: Lang; report: MarginReport; r: Figures }) {
  const margin = marginMicros(report, r)
  const earned = Object.entries(r.earned_minor)
  return (
    <>
      <td class="num">{formatNumber(lang, r.requests)}</td>
      <td class="num">{formatNumber(lang, r.tokens_input_raw)}</td>
      <td class="num">{formatNumber(lang, r.tokens_input_weighted)}</td>
      <td class="num">{formatNumber(lang, r.tokens_output_raw)}</td>
      <td class="num">{formatNumber(lang, r.tokens_output_weighted)}</td>
      <td class="num">{formatMicros(lang, r.cost_micros)}</td>
      <td class="num">
        {earned.length === 0
          ? '—'
          : earned.map(([currency, minor]) => formatMoney(lang, minor, currency)).join(' + ')}
      </td>
      <td class="num">{margin === null ? '—' : formatMicros(lang, margin)}</td>
    </>
  )
}

const GROUP_LABELS = { user: 'col_user', plan: 'col_plan', model: 'col_model' } as const

/** GET /admin/margin: the API's margin report for a period, as a table with totals. */
export function renderMargin(c: WebContext, query: MarginQuery, report: MarginReport) {
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
        </a>
      </p>
      {report.rows.length === 0 ? (
        <p class="muted">{t(lang, 'margin_empty')}</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>
              {t(lang, 'margin_caption', { from: query.fromDate, to: query.toDate })}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t(lang, GROUP_LABELS[query.group])}</th>
                <th scope="col" class="num">
                  {t(lang, 'metric_requests')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_input_raw')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_input_weighted')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_output_raw')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_output_weighted')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_cost', { currency })}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_earned')}
                </th>
                <th scope="col" class="num">
                  {t(lang, 'margin_margin', { currency })}
                </th>
              </tr>
            </thead>
            <tbody>
              {report.rows.map((r) => (
                <tr data-key={r.key ?? ''}>
                  <th scope="row">{r.key ?? t(lang, 'margin_none')}</th>
                  <Cells lang={lang} report={report} r={r} />
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr data-total="">
                <th scope="row">{t(lang, 'margin_total')}</th>
                <Cells lang={lang} report={report} r={report.totals} />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </>,
  )
}
