import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { SlowSample } from '../scenarios/slow-streams.ts'
import { type StorageReading, storageLine } from '../targets/storage.ts'
import { type Check, type EstimatorTiming, evaluate } from './checks.ts'
import type { Row } from './summary.ts'
import { checksTable, estimatorLine, loadTable, slowTable, streamTable } from './tables.ts'

/** What one run reports: printed by bench/run.ts, stored in bench/results/<timestamp>.json. */
export interface BenchReport {
  meta: {
    date: string
    node: string
    cpu?: string
    cores: number
    commit: string | null
    loadAverage1m: { before: number; after: number }
  }
  options: { rounds: number; durationS: number }
  notes: string[]
  estimator: EstimatorTiming | null
  rows: Row[]
  slow: SlowSample[]
  /** The gateways' databases after the run (absent from older reports). */
  storage?: StoredBytes[]
  checks: Check[]
}

export type StoredBytes = StorageReading & { target: string }

export function renderReport(report: BenchReport): string {
  const { meta, options, notes, rows, slow, estimator, checks } = report
  const loadRows = rows.filter((r) => !r.scenario.startsWith('stream'))
  const streamRows = rows.filter((r) => r.scenario.startsWith('stream'))
  const { before, after } = meta.loadAverage1m
  const out = [
    `## Gateway benchmark, ${meta.date} (${meta.cores} x ${meta.cpu}, Node ${meta.node}, commit ${meta.commit})`,
    `load average (1 min) ${before.toFixed(1)} before the run, ${after.toFixed(1)} at its end (the bench alone adds about 3): more means other work competed for the ${meta.cores} cores.`,
    `${options.rounds} round(s) x ${options.durationS} s per scenario and target; medians of rounds; ratios are medians of per-round ratios.`,
    ...notes.map((n) => `- ${n}`),
    '',
    ...(loadRows.length > 0 ? [loadTable(loadRows), ''] : []),
    ...(streamRows.length > 0 ? [streamTable(streamRows), ''] : []),
    ...(slow.length > 0 ? [slowTable(slow), ''] : []),
    ...(report.storage ?? []).map((s) => `storage ${s.target}: ${storageLine(s)}`),
    estimatorLine(estimator),
    '',
    checksTable(checks),
  ]
  return `${out.join('\n')}\n`
}

// `tsx bench/render.ts bench/results/<file>.json`: the tables again, checks re-evaluated.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BenchReport
  const chunks = 20
  report.checks = evaluate(report.rows, report.slow, report.estimator, chunks)
  process.stdout.write(renderReport(report))
}
