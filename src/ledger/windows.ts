import { type PlanQuotas, RATE_WINDOWS, type RateWindow } from './quotas.ts'
import type { WindowAfter, WindowAsk } from './store.types.ts'
import { dayBounds } from './zoned-day.ts'

/**
 * Rate windows (docs/quotas.md): fixed windows aligned to the minute and to the day in
 * the plan's time zone (UTC by default), one counter row per window in
 * billing_rate_window. Fixed windows cost one row per window and give an exact
 * Retry-After (the window's end); the price is the edge: a client may spend a window's
 * limit at its last second and the next one's at its first, up to 2x the limit across
 * the boundary. Minutes need no zone: every zone in use today is offset from UTC by
 * whole minutes.
 */

export const MINUTE_SECONDS = 60

/**
 * What a reservation at `now` (epoch seconds) asks of the plan's windows: one request in
 * each requests window, `tokens` (weighted input + output) in each tokens window. Only
 * the windows the plan sets; undefined for a plan without any, which the store then
 * admits by the period's statement alone.
 */
export function windowAsk(quotas: PlanQuotas, now: number, tokens: number): WindowAsk | undefined {
  let ask: WindowAsk | undefined
  for (const kind of RATE_WINDOWS) {
    const limit = quotas[kind]
    if (limit == null) continue
    const { start, end } = windowAt(kind, now, quotas.window_time_zone ?? undefined)
    ask ??= []
    ask.push({ kind, start, end, n: kind.startsWith('tokens_') ? tokens : 1, limit })
  }
  return ask
}

/** The window of `kind` holding `now`: its start and end (epoch seconds). */
export function windowAt(kind: RateWindow, now: number, zone = 'UTC') {
  if (kind.endsWith('_per_minute')) {
    const start = now - (now % MINUTE_SECONDS)
    return { start, end: start + MINUTE_SECONDS }
  }
  return dayBounds(zone, now)
}

/** Whether a window's amounts are tokens (else requests). */
export const countsTokens = (kind: string) => kind.startsWith('tokens_')

/** A rate window after a reservation: its limit, what is left, and when it ends (epoch seconds). */
export interface RateWindowState {
  window: RateWindow
  limit: number
  remaining: number
  resetAt: number
}

/** A full rate window: the reservation's refusal, retryable when the window ends. */
export interface RateRefusal {
  ok: false
  reason: 'rate'
  window: RateWindow
  limit: number
  used: number
  resetAt: number
}

export const isWindowRow = (row: { metric: string }): row is WindowAfter =>
  row.metric !== 'requests' && row.metric !== 'tokens_input' && row.metric !== 'tokens_output'

/** A window row the reservation returned, as the x-ratelimit-* headers show it. */
export function windowState(row: WindowAfter, asked: WindowAsk): RateWindowState {
  const window = asked.find((w) => w.kind === row.metric)!
  const remaining = window.limit - row.used - row.reserved
  return { window: row.metric, limit: window.limit, remaining, resetAt: window.end }
}

/**
 * The rate window that refused, judged by the upsert's rule (store.windows.*.ts): the
 * first whose used + reserved + ask exceeds its limit, the day's before the minute's
 * (when both are full, the longer wait is the true one). A row not there yet is empty.
 */
export function fullWindow(
  rows: Array<{ kind: RateWindow; used: number; reserved: number }>,
  asked: WindowAsk,
): RateRefusal | undefined {
  const dayFirst = [...asked].sort((a, b) => b.end - b.start - (a.end - a.start))
  for (const window of dayFirst) {
    const row = rows.find((candidate) => candidate.kind === window.kind)
    const held = (row?.used ?? 0) + (row?.reserved ?? 0)
    if (held + window.n > window.limit) {
      const { kind, limit, end: resetAt } = window
      return { ok: false, reason: 'rate', window: kind, limit, used: held, resetAt }
    }
  }
  return undefined
}
