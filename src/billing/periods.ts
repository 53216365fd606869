import type { Interval } from './plan.ts'

/**
 * Calendar-anchored billing periods, in UTC. Period k of a subscription runs
 * from addInterval(anchor, k) to addInterval(anchor, k + 1), always counted
 * from the anchor, so a monthly plan started on Jan 31 renews on Feb 28 (29),
 * then Mar 31, and never drifts to the 28th. All values are epoch seconds.
 */
export function addInterval(anchor: number, interval: Interval, count: number): number {
  switch (interval) {
    case 'day':
      return anchor + count * 86_400
    case 'week':
      return anchor + count * 7 * 86_400
    case 'month':
      return addMonths(anchor, count)
    case 'year':
      return addMonths(anchor, count * 12)
  }
}

export interface Period {
  start: number
  end: number
}

/** The period of the anchor's series that contains `now` (now >= anchor). */
export function periodContaining(anchor: number, interval: Interval, now: number): Period {
  let k = Math.max(0, estimateIndex(anchor, interval, now))
  while (k > 0 && addInterval(anchor, interval, k) > now) k--
  while (addInterval(anchor, interval, k + 1) <= now) k++
  return { start: addInterval(anchor, interval, k), end: addInterval(anchor, interval, k + 1) }
}

function addMonths(anchor: number, months: number): number {
  const date = new Date(anchor * 1000)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth() + months
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  const day = Math.min(date.getUTCDate(), lastDay)
  const ms = Date.UTC(
    year,
    month,
    day,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  )
  return Math.floor(ms / 1000)
}

/** A close guess of the period index, corrected by the loops above (keeps rollover O(1)). */
function estimateIndex(anchor: number, interval: Interval, now: number): number {
  const days = (now - anchor) / 86_400
  const perPeriod = { day: 1, week: 7, month: 30.436875, year: 365.2425 }[interval]
  return Math.floor(days / perPeriod)
}
