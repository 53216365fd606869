import type { SlowSample } from '../scenarios/slow-streams.ts'
import type { Row } from './summary.ts'

/** One target (the fair-floor targets, and the earlier ones that must not regress), evaluated; pass is null when the run did not measure it. */
export interface Check {
  target: string
  what: string
  value: number | null
  unit: string
  limit: string
  pass: boolean | null
}

export interface EstimatorTiming {
  source: string
  tokens: number
  coldMs: number
  warmMedianMs: number
}

/**
 * After the streams end, the live heap (after a full GC) may keep at most this share of what the
 * open streams added, or RETAINED_FLOOR_MB, whichever is larger (caches and lazily built state).
 */
export const RETAINED_MAX_SHARE = 0.1
export const RETAINED_FLOOR_MB = 1

function check(
  target: string,
  what: string,
  value: number | undefined,
  unit: string,
  limit: string,
  ok: (v: number) => boolean,
): Check {
  const known = value !== undefined && Number.isFinite(value)
  return { target, what, value: known ? value : null, unit, limit, pass: known ? ok(value) : null }
}

/**
 * What an ~8,000-token prompt adds to the gateway's p50 beyond what a short prompt adds, both
 * over the floor at 1 concurrent: the size-dependent work (parse, estimate), which bounds the
 * tokenizer's cost from above without the fixed per-request cost (auth, database).
 */
function extraFor8k(long: Row | undefined, short: Row | undefined): number | undefined {
  if (long?.p50MinusFloor === undefined || short?.p50MinusFloor === undefined) return undefined
  return long.p50MinusFloor - short.p50MinusFloor
}

/**
 * What the least metering costs (the floor+ledger target, bench/targets/floor-ledger.ts): a
 * bound no metering gateway on this stack goes below, shown beside the targets.
 */
function leastMeteringBound(find: (scenario: string, target: string) => Row | undefined): Check[] {
  return ['floor+ledger', 'floor+ledger-pg'].flatMap((bound) => {
    const info = (what: string, value: number | undefined): Check => ({
      ...check(bound, `least metering: ${what}`, value, 'x', 'info', () => true),
      pass: null,
    })
    const c16 = find('chat-c16', bound)
    const stream16 = find('stream-c16', bound)
    if (!c16 && !stream16) return []
    return [
      info('chat throughput at 16 concurrent, x floor', c16?.rpsVsFloor),
      info('chat CPU per request at 16 concurrent, x floor', c16?.cpuVsFloor),
      info('stream throughput at 16 concurrent, x floor', stream16?.rpsVsFloor),
      info('stream CPU per request at 16 concurrent, x floor', stream16?.cpuVsFloor),
    ]
  })
}

/** The targets for each gateway target (sqlite, postgres) found in the rows. */
export function evaluate(
  rows: Row[],
  slow: SlowSample[],
  estimator: EstimatorTiming | null,
  chunks: number,
): Check[] {
  const find = (scenario: string, target: string) =>
    rows.find((r) => r.scenario === scenario && r.target === target)
  const checks: Check[] = []
  const gateways = [...new Set(rows.map((r) => r.target))].filter(
    (t) => t === 'sqlite' || t === 'postgres',
  )
  for (const gw of gateways) {
    const sqlite = gw === 'sqlite'
    const c16 = find('chat-c16', gw)
    const stream16 = find('stream-c16', gw)
    // The targets against the fair floor; PostgreSQL has a throughput target only.
    const minChat = sqlite ? 0.75 : 0.5
    checks.push(
      check(
        gw,
        'chat throughput at 16 concurrent, x floor',
        c16?.rpsVsFloor,
        'x',
        `>= ${minChat}`,
        (v) => v >= minChat,
      ),
    )
    const info = (what: string, value: number | undefined): Check => ({
      ...check(gw, `${what} (no target set)`, value, 'x', 'info', () => true),
      pass: null,
    })
    const atMost = (what: string, value: number | undefined, limit: number) =>
      sqlite ? check(gw, what, value, 'x', `<= ${limit}`, (v) => v <= limit) : info(what, value)
    const atLeast = (what: string, value: number | undefined, limit: number) =>
      sqlite ? check(gw, what, value, 'x', `>= ${limit}`, (v) => v >= limit) : info(what, value)
    checks.push(atMost('chat CPU per request at 16 concurrent, x floor', c16?.cpuVsFloor, 1.3))
    checks.push(atLeast('stream throughput at 16 concurrent, x floor', stream16?.rpsVsFloor, 0.65))
    checks.push(
      atMost('stream CPU per request at 16 concurrent, x floor', stream16?.cpuVsFloor, 1.5),
    )
    const keyRow = find('chat-c16', `${gw}-key`)
    if (keyRow)
      checks.push(
        check(
          `${gw}-key`,
          'chat throughput at 16 concurrent with an API key, x floor',
          keyRow.rpsVsFloor,
          'x',
          `>= ${minChat}`,
          (v) => v >= minChat,
        ),
      )
    const maxAdded = sqlite ? 0.6 : 1.2
    checks.push(
      check(
        gw,
        'p50 added over direct at 1 concurrent',
        find('chat-c1', gw)?.p50MinusDirect,
        'ms',
        `<= ${maxAdded}`,
        (v) => v <= maxAdded,
      ),
    )
    // The paced streams' TTFB keeps its earlier limit (no regression): one millisecond over the floor.
    const withinOneMs = (label: string, value: number | undefined) =>
      check(gw, label, value, 'ms', '<= 1', (v) => v <= 1)
    // stream-c16 is a closed loop of instant streams: every target is saturated and queues, so
    // its TTFB holds its throughput gap too. Paced streams (as an LLM sends them), 16 or 1 at a
    // time, leave the target unsaturated: the difference is what the gateway does before the
    // first byte.
    checks.push(
      withinOneMs(
        'stream TTFB p50 over floor, 16 concurrent (paced)',
        find('stream-paced-c16', gw)?.ttfbMinusFloor,
      ),
    )
    checks.push(
      withinOneMs(
        'stream TTFB p50 over floor, 1 concurrent (paced)',
        find('stream-paced', gw)?.ttfbMinusFloor,
      ),
    )
    checks.push(
      check(
        gw,
        'paced stream: reads per response (each chunk as sent)',
        find('stream-paced', gw)?.readsP50,
        'reads',
        `>= ${chunks}`,
        (v) => v >= chunks,
      ),
    )
    checks.push(
      check(
        gw,
        '8k-token prompt: p50 added beyond a short one (over floor)',
        extraFor8k(find('prompt-8k', gw), find('chat-c1', gw)),
        'ms',
        '< 5',
        (v) => v < 5,
      ),
    )
    const s = slow.find((x) => x.target === gw)
    const allOpen = s && s.failed === 0 && s.upstreamOpen === s.streams
    checks.push(
      check(
        gw,
        `RSS per open stream (${s?.streams ?? '-'} open)`,
        allOpen ? s.rssPerStreamKb : undefined,
        'KB',
        '< 100',
        (v) => v < 100,
      ),
    )
    const growth =
      s && s.heapOpenMb !== null && s.heapBeforeMb !== null ? s.heapOpenMb - s.heapBeforeMb : 0
    const allowed = Math.max(RETAINED_MAX_SHARE * growth, RETAINED_FLOOR_MB)
    checks.push(
      check(
        gw,
        'memory returns: live heap kept after the streams end',
        s?.heapRetainedMb ?? undefined,
        'MB',
        `<= ${allowed.toFixed(1)}`,
        (v) => v <= allowed,
      ),
    )
    const errors = rows
      .filter((r) => r.target === gw || r.target === `${gw}-key`)
      .reduce((n, r) => n + r.errors, 0)
    checks.push(check(gw, 'failed requests over the whole run', errors, '', '= 0', (v) => v === 0))
  }
  checks.push(...leastMeteringBound(find))
  if (estimator) {
    checks.push(
      check(
        'estimator',
        `8k-token estimate in-process, warm median (${estimator.source})`,
        estimator.warmMedianMs,
        'ms',
        '< 5',
        (v) => v < 5,
      ),
    )
  }
  return checks
}
