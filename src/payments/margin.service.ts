import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { completeSince } from '../ledger/usage-rollup.repo.ts'
import { DomainError } from '../lib/errors.ts'
import { fromFixed } from '../lib/fixed.ts'
import { formatMoney } from '../lib/money.ts'
import {
  earnedByGroup,
  type MarginGroup,
  type Period,
  splitPeriod,
  usageByGroup,
} from './margin.repo.ts'

/** One line of the margin report: what a user, plan or model used, cost upstream and earned. */
export interface MarginRow {
  key: string | null
  requests: number
  tokens_input_raw: number
  tokens_input_weighted: number
  tokens_output_raw: number
  tokens_output_weighted: number
  /** Upstream cost, integer micro-units of the price currency. */
  cost_micros: number
  /** Payments minus refunds, minor units, per currency; empty when grouped by model. */
  earned_minor: Record<string, number>
}

export interface MarginReport {
  from: number
  to: number
  group_by: MarginGroup
  cost_currency: string
  /** Every currency some payment of the period was in, sorted: the CSV's earned columns. */
  earned_currencies: string[]
  rows: MarginRow[]
  totals: Omit<MarginRow, 'key'>
}

const emptyRow = (key: string | null): MarginRow => ({
  key,
  requests: 0,
  tokens_input_raw: 0,
  tokens_input_weighted: 0,
  tokens_output_raw: 0,
  tokens_output_weighted: 0,
  cost_micros: 0,
  earned_minor: {},
})

/**
 * The operator's margin over [from, to): usage and upstream cost from
 * billing_usage, earnings from billing_transaction, joined by group key in
 * memory (a group may have usage and no payment, or the reverse). Sorted by
 * key, null last; integers throughout, decimals only when shown. Bounds that
 * are not UTC midnights need the raw rows of their day: before the oldest day
 * whose rows were never pruned (usage.retentionDays), they are refused.
 */
export async function marginReport(
  db: Kysely<DB>,
  group: MarginGroup,
  period: Period,
  costCurrency: string,
): Promise<MarginReport> {
  const oldestComplete = await completeSince(db)
  const cut = splitPeriod(period).partial.find((p) => p.from < oldestComplete)
  if (cut) {
    const since = new Date(oldestComplete * 1000).toISOString().slice(0, 10)
    throw new DomainError(
      'validation_failed',
      `Usage before ${since} is kept per UTC day: from and to must be midnights UTC there`,
      { param: cut.from === period.from ? 'from' : 'to' },
    )
  }
  const rows = new Map<string | null, MarginRow>()
  const row = (key: string | null) => {
    const found = rows.get(key) ?? emptyRow(key)
    rows.set(key, found)
    return found
  }
  for (const usage of await usageByGroup(db, group, period)) {
    const target = row(usage.key)
    target.cost_micros += usage.cost
    if (usage.metric === 'requests') target.requests += usage.amount
    if (usage.metric === 'tokens_input') {
      target.tokens_input_raw += usage.raw
      target.tokens_input_weighted += usage.amount
    }
    if (usage.metric === 'tokens_output') {
      target.tokens_output_raw += usage.raw
      target.tokens_output_weighted += usage.amount
    }
  }
  const currencies = new Set<string>()
  if (group !== 'model') {
    for (const paid of await earnedByGroup(db, group, period)) {
      const target = row(paid.key)
      target.earned_minor[paid.currency] = (target.earned_minor[paid.currency] ?? 0) + paid.earned
      currencies.add(paid.currency)
    }
  }
  const sorted = [...rows.values()].sort((a, b) =>
    a.key === b.key ? 0 : a.key === null ? 1 : b.key === null ? -1 : a.key < b.key ? -1 : 1,
  )
  const totals = emptyRow(null)
  for (const r of sorted) {
    totals.requests += r.requests
    totals.tokens_input_raw += r.tokens_input_raw
    totals.tokens_input_weighted += r.tokens_input_weighted
    totals.tokens_output_raw += r.tokens_output_raw
    totals.tokens_output_weighted += r.tokens_output_weighted
    totals.cost_micros += r.cost_micros
    for (const [currency, minor] of Object.entries(r.earned_minor)) {
      totals.earned_minor[currency] = (totals.earned_minor[currency] ?? 0) + minor
    }
  }
  const { key: _, ...totalsWithoutKey } = totals
  return {
    from: period.from,
    to: period.to,
    group_by: group,
    cost_currency: costCurrency,
    earned_currencies: [...currencies].sort(),
    rows: sorted,
    totals: totalsWithoutKey,
  }
}

/** The JSON answer: integers as stored, plus decimal strings for people. */
export function marginToJson(report: MarginReport) {
  const shown = (r: Omit<MarginRow, 'key'>) => ({
    ...r,
    cost: fromFixed(r.cost_micros, 6).toFixed(6),
    earned: Object.fromEntries(
      Object.entries(r.earned_minor).map(([currency, minor]) => [currency, formatMoney(minor)]),
    ),
  })
  return {
    ...report,
    rows: report.rows.map((r) => ({ key: r.key, ...shown(r) })),
    totals: shown(report.totals),
  }
}

const CSV_NUMBERS = [
  'requests',
  'tokens_input_raw',
  'tokens_input_weighted',
  'tokens_output_raw',
  'tokens_output_weighted',
  'cost_micros',
] as const

/**
 * RFC 4180 text: a header row, one row per group, no totals row (a
 * spreadsheet sums). Earned is one column per currency, in minor units. A key
 * starting with = + - @ gets a leading ' so a spreadsheet never runs it.
 */
export function marginToCsv(report: MarginReport): string {
  const earned = report.earned_currencies.map((c) => `earned_minor_${c.toLowerCase()}`)
  const header = [report.group_by, ...CSV_NUMBERS, ...earned]
  const lines = [header.join(',')]
  for (const r of report.rows) {
    const cells = [
      csvText(r.key ?? ''),
      ...CSV_NUMBERS.map((name) => String(r[name])),
      ...report.earned_currencies.map((c) => String(r.earned_minor[c] ?? 0)),
    ]
    lines.push(cells.join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}

function csvText(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}
