/**
 * Exact fixed-point decimals for configuration values (model weights in
 * thousandths, prices in micro-units): parsed from text, never through a
 * float multiplication, so 0.1 is 100 thousandths and not 100.00000000000001.
 */

/** "16", 16, "0.125" -> integer units of 10^-places; null when not exact within `places`. */
export function parseFixed(value: string | number, places: number): number | null {
  const text = typeof value === 'number' ? String(value) : value.trim()
  const match = /^(\d{1,9})(?:\.(\d+))?$/.exec(text)
  if (!match) return null
  const [, units, fraction = ''] = match
  if (fraction.length > places) return null
  return Number(units) * 10 ** places + Number(fraction.padEnd(places, '0') || '0')
}

/** (16000, 3) -> 16; (125, 3) -> 0.125; (2500000, 6) -> 2.5: exact in the shortest decimal form. */
export function fromFixed(units: number, places: number): number {
  const scale = 10 ** places
  return Number(`${Math.floor(units / scale)}.${String(units % scale).padStart(places, '0')}`)
}
