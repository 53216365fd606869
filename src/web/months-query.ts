import { GatewayError } from '../http/errors.ts'

/** The most months one view shows (the API's bound too). */
const MAX_MONTHS = 120
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/

/**
 * Reads ?from=YYYY-MM&to=YYYY-MM of /admin/margin/months (and its CSV); by
 * default the last 12 months, this one included. A bad value is a 400 in the
 * pages' error view, like the API's validation.
 */
export function parseMonthsQuery(
  query: Record<string, string | undefined>,
  nowSeconds: number,
): { from: string; to: string } {
  const now = new Date(nowSeconds * 1000)
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth()
  const to = query.to?.trim() || monthText(thisMonth)
  const from = query.from?.trim() || monthText(thisMonth - 11)
  const span = index(to, 'to') - index(from, 'from')
  if (span < 0 || span >= MAX_MONTHS) {
    throw new GatewayError(
      'validation_failed',
      `to must be from the month of from to ${MAX_MONTHS} months later`,
      { param: 'to' },
    )
  }
  return { from, to }
}

function monthText(index: number): string {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`
}

function index(text: string, param: string): number {
  const match = MONTH.exec(text)
  if (!match) {
    throw new GatewayError('validation_failed', `${param} must be a month like 2026-03`, { param })
  }
  return Number(match[1]) * 12 + Number(match[2]) - 1
}
