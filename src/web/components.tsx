import type { Child } from 'hono/jsx'
import { METRICS, type Metric } from '../ledger/amounts.ts'
import type { MetricUsage } from '../ledger/usage.service.ts'
import { parseMoney } from '../lib/money.ts'
import type { transactionToJson } from '../payments/transactions.service.ts'
import { type Column, DataTable } from './data-table.tsx'
import { formatDate, formatDateTime, formatMoney, formatNumber, type Lang, t } from './i18n.ts'

/** Above this share of the limit a bar turns red: the user is about to hit the 429. */
const HIGH_USE = 0.9

/**
 * One metric's bar: used (solid), reserved by requests in flight (hatched), the
 * rest of the limit (light). SVG attributes, not inline styles, so the CSP can
 * forbid inline CSS. The numbers are text beside it, for readers and screen readers.
 */
export function UsageMeter(props: {
  lang: Lang
  metric: Metric
  usage: MetricUsage
  resetsAt: number
}) {
  const { lang, metric, usage } = props
  const limit = usage.limit
  const share = (n: number) => (limit ? Math.min(100, (n / limit) * 100) : 0)
  const usedWidth = share(usage.used)
  const reservedWidth = Math.min(100 - usedWidth, share(usage.reserved))
  const high = limit !== null && limit > 0 && (usage.used + usage.reserved) / limit > HIGH_USE
  const n = (v: number) => formatNumber(lang, v)
  return (
    <div class={`meter${high ? ' high' : ''}`} data-metric={metric}>
      <div class="label">
        <strong>{t(lang, `metric_${metric}`)}</strong>
        <span>
          {limit === null
            ? t(lang, 'used_unlimited', { used: n(usage.used) })
            : t(lang, 'used_of', { used: n(usage.used), limit: n(limit) })}
        </span>
      </div>
      {limit !== null && (
        <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
          <defs>
            <pattern id={`hatch-${metric}`} width="2" height="2" patternUnits="userSpaceOnUse">
              <rect width="2" height="2" fill="#f4d9a6" />
              <path d="M0 2 L2 0" stroke="#9a6700" stroke-width="0.6" />
            </pattern>
          </defs>
          <rect width="100" height="10" fill="#e6ebf1" />
          <rect width={usedWidth} height="10" fill={high ? '#c9252d' : '#0b5cad'} />
          <rect x={usedWidth} width={reservedWidth} height="10" fill={`url(#hatch-${metric})`} />
        </svg>
      )}
      <div class="sub">
        {usage.reserved > 0 && <span>{t(lang, 'reserved', { n: n(usage.reserved) })} · </span>}
        {limit !== null &&
          t(lang, 'left_resets', {
            left: n(usage.remaining ?? 0),
            date: formatDate(lang, props.resetsAt),
          })}
      </div>
    </div>
  )
}

export interface DayUsage {
  /** Epoch seconds of the day's start (UTC). */
  day: number
  tokens_input: number
  tokens_output: number
}

/**
 * The last days' tokens as stacked bars (input below, output above), inline SVG. `narrow`: the
 * phone's version (gateway.css shows one of the two), drawn at about its on-screen size so its
 * labels stay readable at 390 px.
 */
export function UsageChart(props: { lang: Lang; days: DayUsage[]; narrow?: boolean }) {
  const { lang, days } = props
  const total = days.reduce((sum, d) => sum + d.tokens_input + d.tokens_output, 0)
  if (total === 0) return props.narrow ? null : <p class="muted">{t(lang, 'chart_empty')}</p>
  const width = props.narrow ? 340 : 600
  const height = props.narrow ? 160 : 180
  const top = 16
  const max = Math.max(...days.map((d) => d.tokens_input + d.tokens_output))
  const slot = width / days.length
  const scale = (v: number) => (v / max) * (height - top)
  const label = t(lang, 'chart_label', { total: formatNumber(lang, total) })
  return (
    <figure class={`chart ${props.narrow ? 'narrow' : 'wide'}`}>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={label}>
        <title>{label}</title>
        <line x1="0" y1={height} x2={width} y2={height} stroke="#d0d7de" />
        <text x="2" y="11" font-size="11" fill="#57606a">
          {formatNumber(lang, max)}
        </text>
        {days.map((d, i) => {
          const hIn = scale(d.tokens_input)
          const hOut = scale(d.tokens_output)
          const x = i * slot + 2
          return (
            <g>
              <title>{`${formatDate(lang, d.day)}: ${formatNumber(lang, d.tokens_input)} + ${formatNumber(lang, d.tokens_output)}`}</title>
              <rect x={x} y={height - hIn} width={slot - 4} height={hIn} fill="#0b5cad" />
              <rect x={x} y={height - hIn - hOut} width={slot - 4} height={hOut} fill="#7fb2e5" />
            </g>
          )
        })}
        <text x="2" y={height + 15} font-size="11" fill="#57606a">
          {formatDate(lang, days[0]!.day)}
        </text>
        <text x={width - 2} y={height + 15} font-size="11" fill="#57606a" text-anchor="end">
          {formatDate(lang, days.at(-1)!.day)}
        </text>
      </svg>
      <figcaption class="legend">
        <span>
          <span class="swatch in" />
          {t(lang, 'legend_input')}
        </span>
        <span>
          <span class="swatch out" />
          {t(lang, 'legend_output')}
        </span>
      </figcaption>
    </figure>
  )
}

/** Fills the 30 daily buckets ending today from usageByDay's rows (days without usage are 0). */
export function lastDays(
  rows: Array<{ day: number; metric: Metric; amount: number }>,
  now: number,
  count = 30,
): DayUsage[] {
  const today = Math.floor(now / 86_400) * 86_400
  return Array.from({ length: count }, (_, i) => {
    const day = today - (count - 1 - i) * 86_400
    const of = (metric: Metric) =>
      rows.filter((r) => r.day === day && r.metric === metric).reduce((s, r) => s + r.amount, 0)
    return { day, tokens_input: of('tokens_input'), tokens_output: of('tokens_output') }
  })
}

const TX_BADGE: Record<string, string> = {
  succeeded: 'ok',
  refunded: 'warn',
  canceled: 'bad',
  pending: '',
  waiting_for_capture: '',
}

/** A transaction as the API's service gives it (money as a two-decimal string). */
export type TxJson = ReturnType<typeof transactionToJson>

/** "990.00" -> kopecks, for formatting in the reader's language. */
export const kopecks = (amount: string) => parseMoney(amount) ?? 0

/**
 * A transaction's status in words: a refund row says what became of the
 * refund (never "Succeeded"/"Оплачен", which reads as a payment), and a
 * payment refunded in part says so (YooKassa marks it refunded after any refund).
 */
export function txStatusKey(row: Pick<TxJson, 'kind' | 'status' | 'amount' | 'refunded_amount'>) {
  if (row.kind === 'refund') {
    if (row.status === 'succeeded' || row.status === 'refunded') return 'tx_refund_done'
    return row.status === 'canceled' ? 'tx_refund_canceled' : 'tx_refund_pending'
  }
  const refunded = kopecks(row.refunded_amount)
  if (refunded > 0 && refunded < kopecks(row.amount)) return 'tx_partly_refunded'
  return `tx_${row.status}` as const
}

function TxStatus(props: { lang: Lang; row: TxJson }) {
  const key = txStatusKey(props.row)
  const badge = key === 'tx_partly_refunded' ? 'warn' : (TX_BADGE[props.row.status] ?? '')
  return <span class={`badge ${badge}`}>{t(props.lang, key)}</span>
}

/** Transactions newest first: date, plan, kind, amount (and what was refunded), status. */
export function TransactionTable(props: {
  lang: Lang
  rows: TxJson[]
  planNames: Map<string, string>
  action?: (row: TxJson) => Child
}) {
  const { lang } = props
  const action = props.action
  return (
    <DataTable
      rows={props.rows}
      empty={t(lang, 'history_empty')}
      rowData={(row) => ({ 'data-tx': row.id })}
      columns={[
        { head: t(lang, 'col_date'), cell: (row) => formatDateTime(lang, row.created_at) },
        {
          head: t(lang, 'col_plan'),
          cell: (row) => (row.plan_id ? (props.planNames.get(row.plan_id) ?? row.plan_id) : '—'),
        },
        { head: t(lang, 'col_kind'), cell: (row) => t(lang, `kind_${row.kind}`) },
        {
          head: t(lang, 'col_amount'),
          num: true,
          cell: (row) => (
            <>
              {row.kind === 'refund' ? '−' : ''}
              {formatMoney(lang, kopecks(row.amount), row.currency)}
              {kopecks(row.refunded_amount) > 0 && (
                <div class="muted">
                  {t(lang, 'refunded_part', {
                    amount: formatMoney(lang, kopecks(row.refunded_amount), row.currency),
                  })}
                </div>
              )}
            </>
          ),
        },
        {
          head: t(lang, 'col_status'),
          cell: (row) => <TxStatus lang={lang} row={row} />,
        },
        {
          head: t(lang, 'col_provider_id'),
          cell: (row) => (row.provider_payment_id ? <code>{row.provider_payment_id}</code> : '—'),
        },
        ...(action ? [{ head: t(lang, 'refund'), cell: action }] : []),
      ]}
    />
  )
}

/** One right-aligned column per metric (requests, tokens in, tokens out), headed by its name. */
export function metricColumns<Row>(
  lang: Lang,
  cell: (row: Row, metric: Metric) => Child,
): Array<Column<Row>> {
  return METRICS.map((metric) => ({
    head: t(lang, `metric_${metric}`),
    num: true,
    cell: (row: Row) => cell(row, metric),
  }))
}
