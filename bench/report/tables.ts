import type { SlowSample } from '../scenarios/slow-streams.ts'
import type { Check, EstimatorTiming } from './checks.ts'
import type { Row } from './summary.ts'

type Cell = string | number | undefined

function fmt(value: Cell, digits = 0): string {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '-'
  return typeof value === 'number' ? value.toFixed(digits) : value
}

function signed(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '-'
  return (value >= 0 ? '+' : '') + value.toFixed(digits)
}

/** A plain-text table, right-aligned numbers, that reads the same in a terminal and in a README. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(head), rule, ...rows.map(line)].join('\n')
}

export function loadTable(rows: Row[]): string {
  const head = [
    'scenario',
    'target',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'DB CPU µs/req',
    'peak RSS MB',
    'errors',
    'req/s x floor',
    'CPU x floor',
    'p50 - floor ms',
    'p50 - direct ms',
  ]
  return table(
    head,
    rows.map((r) => [
      r.scenario,
      r.target,
      fmt(r.rps),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.cpuUs),
      fmt(r.dbCpuUs),
      fmt(r.peakRssMb, 1),
      fmt(r.errors),
      fmt(r.rpsVsFloor, 2),
      fmt(r.cpuVsFloor, 2),
      signed(r.p50MinusFloor),
      signed(r.p50MinusDirect),
    ]),
  )
}

export function streamTable(rows: Row[]): string {
  const head = [
    'scenario',
    'target',
    'req/s',
    'TTFB p50 ms',
    'TTFB p99 ms',
    'TTLB p50 ms',
    'TTLB p99 ms',
    'CPU µs/req',
    'reads/resp',
    'events/resp',
    'max gap ms',
    'errors',
    'TTFB - floor ms',
  ]
  return table(
    head,
    rows.map((r) => [
      r.scenario,
      r.target,
      fmt(r.rps),
      fmt(r.ttfbP50, 2),
      fmt(r.ttfbP99, 2),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      // Paced streams are mostly waiting: the process's idle work (timers, GC) divided by a few
      // hundred requests says nothing about a request's cost.
      r.scenario.startsWith('stream-paced') ? '-' : fmt(r.cpuUs),
      fmt(r.readsP50),
      fmt(r.eventsP50),
      fmt(r.maxGapP50, 1),
      fmt(r.errors),
      signed(r.ttfbMinusFloor),
    ]),
  )
}

export function slowTable(slow: SlowSample[]): string {
  const head = [
    'scenario',
    'target',
    'streams',
    'open upstream',
    'open in ms',
    'RSS before MB',
    'RSS peak MB',
    'RSS open MB',
    'RSS KB/stream',
    'RSS after MB',
    'heap before MB',
    'heap open MB',
    'heap after MB',
    'ended ok',
  ]
  const mb = (v: number | null) => (v === null ? '-' : fmt(v, 1))
  return table(
    head,
    slow.map((s) => [
      'slow-streams',
      s.target,
      fmt(s.streams),
      fmt(s.upstreamOpen),
      fmt(s.openMs),
      fmt(s.rssBeforeMb, 1),
      fmt(s.rssPeakMb, 1),
      fmt(s.rssOpenMb, 1),
      fmt(s.rssPerStreamKb, 1),
      fmt(s.rssAfterMb, 1),
      mb(s.heapBeforeMb),
      mb(s.heapOpenMb),
      mb(s.heapAfterMb),
      fmt(s.completed),
    ]),
  )
}

export function checksTable(checks: Check[]): string {
  const verdict = (c: Check) =>
    c.pass === null ? (c.limit === 'info' ? 'info' : 'n/a') : c.pass ? 'PASS' : 'FAIL'
  return table(
    ['target', 'check', 'value', 'limit', 'result'],
    checks.map((c) => [
      c.target,
      c.what,
      c.value === null ? '-' : `${c.value.toFixed(2)} ${c.unit}`.trim(),
      c.limit,
      verdict(c),
    ]),
  )
}

export function estimatorLine(estimator: EstimatorTiming | null): string {
  if (!estimator) return 'estimator: not measured'
  return `estimator (${estimator.source}): ${estimator.tokens} tokens, first call ${estimator.coldMs.toFixed(2)} ms, warm median ${estimator.warmMedianMs.toFixed(2)} ms`
}
