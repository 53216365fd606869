import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { convertMicros, loadRates } from './exchange-rates.ts'
import type { MarginGroup, Period } from './margin.repo.ts'
import { costByDay, costByGroupAndDay, earnedPayments } from './margin-monthly.repo.ts'

const MICROS_PER_MINOR = 10_000

/** One UTC month of the shop: revenue, upstream cost and margin, in the shop's currency. */
export interface MonthFigures {
  /** "2026-03" */
  month: string
  /** Payments minus refunds in the shop currency (price-currency payments converted), minor units. */
  revenue_minor: number
  /** Upstream cost in micro-units of the price currency, as stored. */
  cost_micros: number
  /** The cost converted day by day at each day's rate, minor units of the shop currency (ceil). */
  cost_minor: number | null
  /** revenue - cost; null when some cost or payment had no rate (shown as "—", never a wrong figure). */
  margin_minor: number | null
}

export interface MonthlyMargin {
  shop_currency: string
  cost_currency: string
  months: MonthFigures[]
  totals: Omit<MonthFigures, 'month'>
}

/**
 * Revenue, cost and margin per UTC month of [fromMonth, toMonth], in the shop
 * currency. Each day's upstream cost converts at that day's rate, each payment
 * at its own date's rate when it was not paid in the shop currency (rates:
 * the admin's dated ones, else config.exchangeRate). Integers throughout: a
 * day's converted cost is rounded up to a micro-unit, a month's to a minor
 * unit, so a margin is never shown above what it was.
 */
export async function monthlyMargin(
  db: Kysely<DB>,
  config: { shopCurrency: string; priceCurrency: string; exchangeRate?: number | undefined },
  months: { from: string; to: string },
): Promise<MonthlyMargin> {
  const { rateAt } = await loadRates(db, config.shopCurrency, config.exchangeRate)
  const starts = monthStarts(months.from, months.to)
  const period = { from: starts[0]!, to: starts.at(-1)! }
  const figures = starts.slice(0, -1).map((start) => ({
    start,
    month: new Date(start * 1000).toISOString().slice(0, 7),
    revenue: 0,
    costMicros: 0,
    costShopMicros: 0,
    missingRate: false,
  }))
  const monthOf = (at: number) => figures.findLast((m) => m.start <= at)!
  for (const { day, cost } of await costByDay(db, period)) {
    const month = monthOf(day)
    month.costMicros += cost
    const rate = rateAt(day)
    if (rate === null) month.missingRate ||= cost !== 0
    else month.costShopMicros += convertMicros(cost, rate)
  }
  for (const paid of await earnedPayments(db, period)) {
    const month = monthOf(paid.at)
    if (paid.currency === config.shopCurrency) month.revenue += paid.minor
    else if (paid.currency === config.priceCurrency && rateAt(paid.at) !== null) {
      // Minor units of the price currency -> its micros -> shop micros -> shop minor units.
      const shopMicros = convertMicros(Math.abs(paid.minor) * MICROS_PER_MINOR, rateAt(paid.at)!)
      month.revenue += Math.sign(paid.minor) * Math.floor(shopMicros / MICROS_PER_MINOR)
    } else month.missingRate = true
  }
  const rows: MonthFigures[] = figures.map((m) => {
    const cost = m.missingRate ? null : Math.ceil(m.costShopMicros / MICROS_PER_MINOR)
    return {
      month: m.month,
      revenue_minor: m.revenue,
      cost_micros: m.costMicros,
      cost_minor: cost,
      margin_minor: cost === null ? null : m.revenue - cost,
    }
  })
  const sum = (pick: (r: MonthFigures) => number | null) =>
    rows.some((r) => pick(r) === null) ? null : rows.reduce((a, r) => a + pick(r)!, 0)
  return {
    shop_currency: config.shopCurrency,
    cost_currency: config.priceCurrency,
    months: rows,
    totals: {
      revenue_minor: sum((r) => r.revenue_minor)!,
      cost_micros: sum((r) => r.cost_micros)!,
      cost_minor: sum((r) => r.cost_minor),
      margin_minor: sum((r) => r.margin_minor),
    },
  }
}

/** The starts of each month from `from` to `to` (YYYY-MM, both included), and the end of the last. */
function monthStarts(from: string, to: string): number[] {
  const [fy, fm] = from.split('-').map(Number) as [number, number]
  const [ty, tm] = to.split('-').map(Number) as [number, number]
  const count = (ty - fy) * 12 + (tm - fm) + 1
  const starts: number[] = []
  // Date.UTC rolls a month past December into the next year.
  for (let i = 0; i <= count; i++) starts.push(Date.UTC(fy, fm - 1 + i, 1) / 1000)
  return starts
}

/** RFC 4180 CSV of the months, integers only: the spreadsheet's sums are exact. */
export function monthlyMarginToCsv(report: MonthlyMargin): string {
  const shop = report.shop_currency.toLowerCase()
  const cost = report.cost_currency.toLowerCase()
  const lines = [
    `month,revenue_minor_${shop},cost_micros_${cost},cost_minor_${shop},margin_minor_${shop}`,
  ]
  for (const m of report.months) {
    lines.push(
      [m.month, m.revenue_minor, m.cost_micros, m.cost_minor ?? '', m.margin_minor ?? ''].join(','),
    )
  }
  return `${lines.join('\r\n')}\r\n`
}

/**
 * Each group key's upstream cost in micro-units of the shop currency, each
 * day at its own rate (ceil per day); null for a key with cost on a day
 * without any rate. The margin report's rows show their margin with it.
 */
export async function shopCosts(
  db: Kysely<DB>,
  config: { shopCurrency: string; exchangeRate?: number | undefined },
  group: MarginGroup,
  period: Period,
): Promise<Map<string | null, number | null>> {
  const { rateAt } = await loadRates(db, config.shopCurrency, config.exchangeRate)
  const costs = new Map<string | null, number | null>()
  for (const { key, day, cost } of await costByGroupAndDay(db, group, period)) {
    const rate = rateAt(day)
    const sofar = costs.has(key) ? costs.get(key)! : 0
    costs.set(
      key,
      sofar === null || (rate === null && cost !== 0)
        ? null
        : sofar + (rate === null ? 0 : convertMicros(cost, rate)),
    )
  }
  return costs
}
