/**
 * Money is integer minor units (kopecks) inside the gateway and a two-decimal
 * string on the wire, as YooKassa takes it. No float ever takes part in a sum.
 */
const DECIMAL = /^(0|[1-9]\d{0,12})(?:\.(\d{1,2}))?$/

/** Parses "990", "990.5", "990.00" or the number 990.5 into kopecks; null when not exact money. */
export function parseMoney(value: string | number): number | null {
  const text = typeof value === 'number' ? numberToText(value) : value.trim()
  if (text === null) return null
  const match = DECIMAL.exec(text)
  if (!match) return null
  const [, units, fraction = ''] = match
  return Number(units) * 100 + Number(fraction.padEnd(2, '0'))
}

/** 99000 -> "990.00". */
export function formatMoney(kopecks: number): string {
  if (!Number.isSafeInteger(kopecks)) throw new Error(`not an integer amount: ${kopecks}`)
  const sign = kopecks < 0 ? '-' : ''
  const abs = Math.abs(kopecks)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** 99000 -> 990 (a JSON number with at most two decimals, exact in its shortest form). */
export function moneyToNumber(kopecks: number): number {
  return Number(formatMoney(kopecks))
}

function numberToText(value: number): string | null {
  if (!Number.isFinite(value) || value < 0) return null
  // The shortest round-trip form: 990.1 -> "990.1", 0.1 + 0.2 -> "0.30000000000000004" (rejected).
  return String(value)
}
