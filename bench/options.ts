import type { FloorStream } from './targets/floor.ts'

/** What `npm run bench` does, from the environment (all optional). */
export interface BenchOptions {
  quick: boolean
  rounds: number
  /** Seconds of load per scenario, target and round. */
  durationS: number
  /** Seconds of unmeasured load per target before the first round (JIT, pools, caches). */
  warmupS: number
  slowStreams: number
  /** How long the slow streams are held open while RSS is sampled. */
  slowHoldMs: number
  /** Idle time after the slow streams end before RSS is read again. */
  settleMs: number
  chunks: number
  /** Start the proxies with --inspect=127.0.0.1:<port> to read their heap after GC (BENCH_INSPECT=0: off). */
  inspect: boolean
  /**
   * The floor's stream path: `web` (a ReadableStream through @hono/node-server) or `node`
   * (written to Node's response). It should be the one the gateway's streams take.
   */
  floorStream: FloorStream
  /** Target names to run: direct, floor, floor+ledger, sqlite, postgres (the -key variants follow their gateway). */
  targets: Set<string>
  /** Scenario ids to run; empty means all. */
  scenarios: Set<string>
}

function list(raw: string | undefined, fallback: string[]): Set<string> {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  return new Set(items.length > 0 ? items : fallback)
}

function number(raw: string | undefined, fallback: number): number {
  const value = Number(raw)
  return raw !== undefined && raw !== '' && Number.isFinite(value) ? value : fallback
}

/**
 * Full: 3 rounds of 5 s per scenario and target, about 7-9 minutes with PostgreSQL.
 * BENCH_QUICK=1: 1 round of 2 s and 300 slow streams, about 1-2 minutes.
 */
export function readOptions(env: Record<string, string | undefined>): BenchOptions {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true'
  return {
    quick,
    rounds: number(env.BENCH_ROUNDS, quick ? 1 : 3),
    durationS: number(env.BENCH_DURATION, quick ? 2 : 5),
    warmupS: number(env.BENCH_WARMUP, quick ? 1 : 3),
    slowStreams: number(env.BENCH_SLOW_STREAMS, quick ? 300 : 1000),
    slowHoldMs: number(env.BENCH_SLOW_HOLD_MS, quick ? 1000 : 3000),
    settleMs: number(env.BENCH_SETTLE_MS, quick ? 2000 : 5000),
    chunks: 20,
    inspect: env.BENCH_INSPECT !== '0',
    // The gateway writes its streams to Node's response: the floor does the same.
    floorStream: env.BENCH_FLOOR_STREAM === 'web' ? 'web' : 'node',
    targets: list(env.BENCH_TARGETS, ['direct', 'floor', 'floor+ledger', 'sqlite', 'postgres']),
    scenarios: list(env.BENCH_SCENARIOS, []),
  }
}
