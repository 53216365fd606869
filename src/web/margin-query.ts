import { GatewayError } from '../http/errors.ts'
import type { MarginGroup } from '../payments/margin.repo.ts'

const DAY = 86_400
/** The default period: the last 30 UTC days, today included. */
const DEFAULT_DAYS = 30
const GROUPS: readonly MarginGroup[] = ['user', 'plan', 'model']

/** What the console's margin form asks: UTC dates, both included, and a grouping. */
export interface MarginQuery {
  fromDate: string
  toDate: string
  group: MarginGroup
  /** The API's half-open period in epoch seconds: [from 00:00 UTC, the day after `to` 00:00 UTC). */
  from: number
  to: number
}

/**
 * Reads ?from=YYYY-MM-DD&to=YYYY-MM-DD&group_by= of /admin/margin (and its CSV);
 * a bad value is a 400 in the pages' error view, like the API's validation.
 */
export function parseMarginQuery(
  query: Record<string, string | undefined>,
  nowSeconds: number,
): MarginQuery {
  const today = Math.floor(nowSeconds / DAY) * DAY
  const fromDate = query.from?.trim() || isoDate(today - (DEFAULT_DAYS - 1) * DAY)
  const toDate = query.to?.trim() || isoDate(today)
  const from = dateSeconds(fromDate, 'from')
  const to = dateSeconds(toDate, 'to') + DAY
  if (to <= from) {
    throw new GatewayError('validation_failed', 'to must be on or after from', { param: 'to' })
  }
  const group = (query.group_by || 'user') as MarginGroup
  if (!GROUPS.includes(group)) {
    throw new GatewayError('validation_failed', 'group_by must be user, plan or model', {
      param: 'group_by',
    })
  }
  return { fromDate, toDate, group, from, to }
}

function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10)
}

function dateSeconds(text: string, param: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN
  // Date.UTC rolls 2026-02-31 over to March: the round trip rejects it.
  if (!match || Number.isNaN(ms) || ms < 0 || isoDate(ms / 1000) !== text) {
    throw new GatewayError('validation_failed', `${param} must be a date like 2026-01-31`, {
      param,
    })
  }
  return ms / 1000
}
