import type { ReservationRow } from '../../db/tables.ts'
import { type PlanQuotas, RATE_WINDOWS, type RateWindow } from './quotas.ts'
import { DAY_SECONDS } from './store.sql.ts'
import { type CloseInput, NO_LIMIT, type WindowAsk } from './store.types.ts'

/**
 * Rate windows (docs/quotas.md): fixed windows aligned to the UTC minute and day,
 * counted in billing_quota_counter rows keyed by the window's start. Fixed windows
 * cost one row per window and no clock arithmetic in SQL; the price is the edge: a
 * client may spend a window's limit at its last second and the next one's at the
 * first, up to 2x the limit across the boundary.
 */

export const MINUTE_SECONDS = 60

/** The windows a reservation at `now` (epoch seconds) asks, or undefined for a plan without. */
export function windowAsk(quotas: PlanQuotas, now: number, tokens: number): WindowAsk | undefined {
  if (!RATE_WINDOWS.some((window) => quotas[window] != null)) return undefined
  const limit = (window: RateWindow) => quotas[window] ?? NO_LIMIT
  return {
    minuteStart: now - (now % MINUTE_SECONDS),
    tokens,
    limits: {
      requests_per_minute: limit('requests_per_minute'),
      tokens_per_minute: limit('tokens_per_minute'),
      requests_per_day: limit('requests_per_day'),
      tokens_per_day: limit('tokens_per_day'),
    },
  }
}

/** When the window of `window` holding `minuteStart` ends (epoch seconds). */
export function windowEnd(window: RateWindow, minuteStart: number): number {
  return window.endsWith('_per_minute')
    ? minuteStart + MINUTE_SECONDS
    : minuteStart - (minuteStart % DAY_SECONDS) + DAY_SECONDS
}

/** The start of the window of `window` holding `minuteStart`: its counter row's period_start. */
export function windowStart(window: RateWindow, minuteStart: number): number {
  return window.endsWith('_per_minute') ? minuteStart : minuteStart - (minuteStart % DAY_SECONDS)
}

export interface WindowMove {
  subscription_id: string
  period_start: number
  metric: RateWindow
  used: number
  reserved: number
}

/**
 * What the closes move in the windows their reservations were reserved in: the request
 * and its real tokens (weighted input + output) go to `used`, what the reservation held
 * leaves `reserved`. Summed per window row, so one UPDATE moves a batch.
 */
export function windowMoves(
  closed: Array<ReservationRow | undefined>,
  inputs: CloseInput[],
): WindowMove[] {
  const moves = new Map<string, WindowMove>()
  for (const [i, reservation] of closed.entries()) {
    if (!reservation || reservation.window_start === null) continue
    const minute = Number(reservation.window_start)
    const { actual } = inputs[i]!
    const usedTokens = actual.tokens_input + actual.tokens_output
    for (const metric of RATE_WINDOWS) {
      const tokens = metric.startsWith('tokens_')
      const start = windowStart(metric, minute)
      const id = `${reservation.subscription_id}\u0000${start}\u0000${metric}`
      const move = moves.get(id) ?? {
        subscription_id: reservation.subscription_id,
        period_start: start,
        metric,
        used: 0,
        reserved: 0,
      }
      move.used += tokens ? usedTokens : actual.requests
      // A reservation holds one request in each requests window (windowUpsertSql).
      move.reserved += tokens ? Number(reservation.window_tokens) : 1
      moves.set(id, move)
    }
  }
  return [...moves.values()]
}
