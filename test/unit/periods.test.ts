import { describe, expect, it } from 'vitest'
import { addInterval, periodContaining } from '../../src/billing/periods.ts'

const at = (iso: string) => Date.parse(iso) / 1000
const iso = (seconds: number) => new Date(seconds * 1000).toISOString()
const isos = (p: { start: number; end: number }) => [iso(p.start), iso(p.end)]

describe('calendar-anchored periods', () => {
  it('a monthly plan started on Jan 31 renews on Feb 28, then Mar 31 (never drifting to the 28th)', () => {
    const anchor = at('2026-01-31T10:30:00Z')
    expect([1, 2, 3, 4].map((k) => iso(addInterval(anchor, 'month', k)))).toEqual([
      '2026-02-28T10:30:00.000Z',
      '2026-03-31T10:30:00.000Z',
      '2026-04-30T10:30:00.000Z',
      '2026-05-31T10:30:00.000Z',
    ])
  })

  it('uses Feb 29 in a leap year', () => {
    const anchor = at('2028-01-31T00:00:00Z')
    expect(iso(addInterval(anchor, 'month', 1))).toBe('2028-02-29T00:00:00.000Z')
    expect(iso(addInterval(anchor, 'month', 2))).toBe('2028-03-31T00:00:00.000Z')
    expect(iso(addInterval(at('2100-01-31T00:00:00Z'), 'month', 1))).toBe(
      '2100-02-28T00:00:00.000Z',
    )
    expect(iso(addInterval(at('2000-01-31T00:00:00Z'), 'month', 1))).toBe(
      '2000-02-29T00:00:00.000Z',
    )
  })

  it('a yearly plan started on Feb 29 renews on Feb 28 and returns to Feb 29 in the next leap year', () => {
    const anchor = at('2028-02-29T08:00:00Z')
    expect([1, 2, 3, 4].map((k) => iso(addInterval(anchor, 'year', k)))).toEqual([
      '2029-02-28T08:00:00.000Z',
      '2030-02-28T08:00:00.000Z',
      '2031-02-28T08:00:00.000Z',
      '2032-02-29T08:00:00.000Z',
    ])
  })

  it('daily and weekly plans are fixed lengths from the anchor', () => {
    const anchor = at('2026-03-28T23:00:00Z')
    expect(iso(addInterval(anchor, 'day', 3))).toBe('2026-03-31T23:00:00.000Z')
    expect(iso(addInterval(anchor, 'week', 1))).toBe('2026-04-04T23:00:00.000Z')
    expect(isos(periodContaining(anchor, 'day', at('2026-03-30T22:59:59Z')))).toEqual([
      '2026-03-29T23:00:00.000Z',
      '2026-03-30T23:00:00.000Z',
    ])
  })

  it('finds the period containing any moment: start inclusive, end exclusive', () => {
    const anchor = at('2026-01-31T12:00:00Z')
    expect(isos(periodContaining(anchor, 'month', anchor))).toEqual([
      '2026-01-31T12:00:00.000Z',
      '2026-02-28T12:00:00.000Z',
    ])
    expect(isos(periodContaining(anchor, 'month', at('2026-02-28T11:59:59Z')))).toEqual([
      '2026-01-31T12:00:00.000Z',
      '2026-02-28T12:00:00.000Z',
    ])
    expect(isos(periodContaining(anchor, 'month', at('2026-02-28T12:00:00Z')))).toEqual([
      '2026-02-28T12:00:00.000Z',
      '2026-03-31T12:00:00.000Z',
    ])
    // Years later, still anchored to the 31st (the estimate is corrected exactly).
    expect(isos(periodContaining(anchor, 'month', at('2031-08-31T12:00:00Z')))).toEqual([
      '2031-08-31T12:00:00.000Z',
      '2031-09-30T12:00:00.000Z',
    ])
    expect(isos(periodContaining(anchor, 'year', at('2030-01-31T11:00:00Z')))).toEqual([
      '2029-01-31T12:00:00.000Z',
      '2030-01-31T12:00:00.000Z',
    ])
  })

  it('every consecutive period meets the next with no gap or overlap, over ten years of months', () => {
    const anchor = at('2024-01-31T05:06:07Z')
    let t = anchor
    for (let k = 0; k < 120; k++) {
      const p = periodContaining(anchor, 'month', t)
      expect(p.start, `period ${k}`).toBe(addInterval(anchor, 'month', k))
      expect(p.end, `period ${k}`).toBe(addInterval(anchor, 'month', k + 1))
      expect(periodContaining(anchor, 'month', p.end - 1)).toEqual(p)
      t = p.end
    }
  })
})
