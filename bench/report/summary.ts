import { median } from '../proc/stats.ts'
import type { Sample } from '../scenarios/catalog.ts'

/** One scenario x target, as medians over rounds; ratios are taken per round, then the median. */
export interface Row {
  scenario: string
  target: string
  rounds: number
  errors: number
  firstError?: string
  rps: number
  p50: number
  p99: number
  cpuUs: number
  dbCpuUs?: number
  peakRssMb: number
  rpsVsFloor?: number
  cpuVsFloor?: number
  p50MinusFloor?: number
  p50MinusDirect?: number
  ttfbP50?: number
  ttfbP99?: number
  ttfbMinusFloor?: number
  readsP50?: number
  eventsP50?: number
  maxGapP50?: number
}

function perRound(
  mine: Sample[],
  all: Sample[],
  target: string,
  pick: (a: Sample, b: Sample) => number,
) {
  const values: number[] = []
  for (const sample of mine) {
    const other = all.find(
      (s) => s.scenario === sample.scenario && s.round === sample.round && s.target === target,
    )
    if (other && other.ok > 0 && sample.ok > 0) values.push(pick(sample, other))
  }
  return values.length > 0 ? median(values) : undefined
}

export function summarize(samples: Sample[]): Row[] {
  const rows: Row[] = []
  const keys = [...new Set(samples.map((s) => `${s.scenario}\u0000${s.target}`))]
  for (const key of keys) {
    const [scenario, target] = key.split('\u0000') as [string, string]
    const mine = samples.filter((s) => s.scenario === scenario && s.target === target)
    const stat = (pick: (s: Sample) => number | undefined) =>
      median(mine.filter((s) => s.ok > 0).map((s) => pick(s) ?? Number.NaN))
    const row: Row = {
      scenario,
      target,
      rounds: mine.length,
      errors: mine.reduce((sum, s) => sum + s.errors, 0),
      firstError: mine.find((s) => s.firstError)?.firstError,
      rps: stat((s) => s.rps),
      p50: stat((s) => s.p50),
      p99: stat((s) => s.p99),
      cpuUs: stat((s) => s.cpuUsPerRequest),
      dbCpuUs: mine.some((s) => s.dbCpuUs !== undefined) ? stat((s) => s.dbCpuUs) : undefined,
      peakRssMb: Math.max(...mine.map((s) => s.peakRssMb)),
    }
    if (target !== 'floor') {
      row.rpsVsFloor = perRound(mine, samples, 'floor', (a, b) => a.rps / b.rps)
      row.cpuVsFloor = perRound(
        mine,
        samples,
        'floor',
        (a, b) => a.cpuUsPerRequest / b.cpuUsPerRequest,
      )
      row.p50MinusFloor = perRound(mine, samples, 'floor', (a, b) => a.p50 - b.p50)
    }
    if (target !== 'direct')
      row.p50MinusDirect = perRound(mine, samples, 'direct', (a, b) => a.p50 - b.p50)
    if (mine[0]?.stream) {
      row.ttfbP50 = stat((s) => s.stream?.ttfbP50)
      row.ttfbP99 = stat((s) => s.stream?.ttfbP99)
      row.readsP50 = stat((s) => s.stream?.readsP50)
      row.eventsP50 = stat((s) => s.stream?.eventsP50)
      row.maxGapP50 = stat((s) => s.stream?.maxGapP50)
      if (target !== 'floor') {
        row.ttfbMinusFloor = perRound(
          mine,
          samples,
          'floor',
          (a, b) => a.stream!.ttfbP50 - b.stream!.ttfbP50,
        )
      }
    }
    rows.push(row)
  }
  return rows
}
