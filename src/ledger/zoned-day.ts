/**
 * The bounds of the day holding an instant in an IANA time zone (epoch seconds), for
 * the day rate windows (windows.ts). A zone's day starts at its local midnight, or at
 * the first instant after it when summer time skips midnight, and lasts 23, 24 or 25
 * hours. Found by bisection over the zone's calendar date, which only ever grows with
 * time, so no offset arithmetic can be fooled by a transition; cached per zone until
 * the day ends, so a request costs a comparison.
 */
export interface DayBounds {
  start: number
  end: number
}

const cache = new Map<string, DayBounds>()
const formats = new Map<string, Intl.DateTimeFormat>()

/** Throws a RangeError for a zone that is not an IANA time zone this runtime knows. */
export function checkTimeZone(zone: string): void {
  formatOf(zone)
}

export function dayBounds(zone: string, now: number): DayBounds {
  const cached = cache.get(zone)
  if (cached && cached.start <= now && now < cached.end) return cached
  const today = dateIn(zone, now)
  // A zone's day lasts at most 26 hours (a one-off switch of side of the date line aside).
  const start = firstSecond(now - 26 * HOUR, now, (at) => dateIn(zone, at) >= today)
  const end = firstSecond(now, now + 26 * HOUR, (at) => dateIn(zone, at) > today)
  const bounds = { start, end }
  cache.set(zone, bounds)
  return bounds
}

const HOUR = 3600

/** The first second in [low, high] at which `reached` holds (it holds at high, and stays once it does). */
function firstSecond(low: number, high: number, reached: (at: number) => boolean) {
  let lo = low
  let hi = high
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if (reached(mid)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** The zone's calendar date at `at` as a sortable number (20260307). */
function dateIn(zone: string, at: number): number {
  const parts = formatOf(zone).formatToParts(at * 1000)
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value)
  return part('year') * 10_000 + part('month') * 100 + part('day')
}

function formatOf(zone: string): Intl.DateTimeFormat {
  let format = formats.get(zone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    })
    formats.set(zone, format)
  }
  return format
}
