import type { LoadResult } from '../load/ac-job.ts'
import type { Driver } from '../load/driver-client.ts'
import type { DriverJob } from '../load/load-driver.ts'
import type { StreamResult } from '../load/stream-job.ts'
import type { BenchOptions } from '../options.ts'
import { cpuMicros, sampleRss } from '../proc/stats.ts'
import { CHAT_PATH, type Target } from '../targets/target.ts'
import { bodies } from './payloads.ts'

export interface Scenario {
  id: string
  title: string
  kind: 'load' | 'stream'
  /** Run in every round (medians), or once (a functional check, not a rate). */
  everyRound: boolean
  applies(target: Target): boolean
  job(target: Target, options: BenchOptions): DriverJob
}

/** The API-key variant of a gateway is the same process; it runs where auth cost shows most. */
const mainTargets = (t: Target) => !t.name.endsWith('-key')

function load(connections: number, body: string, manyUsers = false) {
  return (t: Target, o: BenchOptions): DriverJob => ({
    kind: 'autocannon',
    url: t.origin + CHAT_PATH,
    connections,
    durationS: o.durationS,
    headers: t.headers,
    headerSets: manyUsers ? t.userHeaders : undefined,
    body,
  })
}

function stream(concurrency: number, body: string, maxRequests?: number) {
  return (t: Target, o: BenchOptions): DriverJob => ({
    kind: 'stream',
    url: t.origin + CHAT_PATH,
    concurrency,
    durationS: o.durationS,
    ...(maxRequests === undefined ? {} : { maxRequests }),
    headers: t.headers,
    body,
  })
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'chat-c1',
    title: 'non-stream chat, 1 concurrent',
    kind: 'load',
    everyRound: true,
    applies: mainTargets,
    job: load(1, bodies.chat),
  },
  {
    id: 'chat-c16',
    title: 'non-stream chat, 16 concurrent',
    kind: 'load',
    everyRound: true,
    applies: () => true,
    job: load(16, bodies.chat),
  },
  {
    // The same load spread over 16 users: shows what one user's hot counter rows cost (locks).
    id: 'chat-c16-users',
    title: 'non-stream chat, 16 concurrent, 16 users',
    kind: 'load',
    everyRound: true,
    applies: (t) => mainTargets(t) && t.kind !== 'direct',
    job: load(16, bodies.chat, true),
  },
  {
    id: 'chat-c64',
    title: 'non-stream chat, 64 concurrent',
    kind: 'load',
    everyRound: true,
    applies: mainTargets,
    job: load(64, bodies.chat),
  },
  {
    id: 'prompt-8k',
    title: '~8,000-token prompt, 1 concurrent',
    kind: 'load',
    everyRound: true,
    applies: mainTargets,
    job: load(1, bodies.long),
  },
  {
    id: 'stream-c16',
    title: 'streaming chat, 20 chunks, 16 concurrent',
    kind: 'stream',
    everyRound: true,
    applies: mainTargets,
    job: stream(16, bodies.stream),
  },
  {
    // Real LLM streams are paced by generation: 16 such streams keep the gateway busy but not
    // saturated, so TTFB shows the gateway's own delay rather than a queue (stream-c16's
    // closed loop of instant streams saturates every target: its TTFB is its capacity).
    id: 'stream-paced-c16',
    title: 'streaming, chunks 5 ms apart, 16 concurrent',
    kind: 'stream',
    everyRound: true,
    applies: mainTargets,
    job: stream(16, bodies.paced),
  },
  {
    id: 'stream-paced',
    title: 'streaming, chunks 5 ms apart, 1 concurrent',
    kind: 'stream',
    everyRound: false,
    applies: mainTargets,
    job: stream(1, bodies.paced, 40),
  },
]

export interface Sample {
  scenario: string
  target: string
  round: number
  ok: number
  errors: number
  firstError?: string
  rps: number
  /** Whole-response latency (to the last byte for streams), ms. */
  p50: number
  p99: number
  cpuUsPerRequest: number
  /** CPU per request of the load driver and the mock: shows when the target was not the bottleneck. */
  driverCpuUs: number
  mockCpuUs: number
  /** PostgreSQL backends' CPU per request (server side, same machine); undefined without one. */
  dbCpuUs?: number
  peakRssMb: number
  stream?: Omit<StreamResult, 'ok' | 'errors' | 'firstError' | 'durationS' | 'rps'>
}

/**
 * CPU of the database server processes serving a target. The gateway's pool opens and closes
 * backends (idle ones time out between scenarios), so the list is read before and after: a
 * backend born during the run counts whole, one that exited during it is lost (rare under load).
 */
async function readDbCpu(listPids: () => Promise<number[]>) {
  const read = (pid: number) => {
    try {
      return cpuMicros(pid)
    } catch {
      return null
    }
  }
  const start = new Map((await listPids()).map((pid) => [pid, read(pid)]))
  return {
    async elapsed() {
      let sum = 0
      for (const pid of await listPids()) {
        const now = read(pid)
        const before = start.has(pid) ? start.get(pid)! : 0
        if (before !== null && now !== null) sum += now - before
      }
      return sum
    },
  }
}

/** Runs one scenario against one target, reading the target's CPU and RSS around the load. */
export async function measure(
  driver: Driver,
  mockPid: number,
  scenario: Scenario,
  target: Target,
  round: number,
  options: BenchOptions,
): Promise<Sample> {
  const rss = sampleRss(target.pid)
  const pids = [target.pid, driver.child.pid, mockPid]
  const before = pids.map(cpuMicros)
  const db = target.dbPids ? await readDbCpu(target.dbPids) : undefined
  const result = (await driver.run(scenario.job(target, options))) as LoadResult | StreamResult
  const [cpu, driverCpu, mockCpu] = pids.map((pid, i) => cpuMicros(pid) - before[i]!) as [
    number,
    number,
    number,
  ]
  const perRequest = (micros: number) => micros / Math.max(1, result.ok)
  const dbCpuUs = db ? perRequest(await db.elapsed()) : undefined
  const peakRssMb = rss.stop() / 2 ** 20
  const base = {
    scenario: scenario.id,
    target: target.name,
    round,
    ok: result.ok,
    errors: result.errors,
    rps: result.rps,
    cpuUsPerRequest: perRequest(cpu),
    driverCpuUs: perRequest(driverCpu),
    mockCpuUs: perRequest(mockCpu),
    dbCpuUs,
    peakRssMb,
  }
  if ('ttfbP50' in result) {
    const { ok: _o, errors: _e, firstError, durationS: _d, rps: _r, ...stream } = result
    return { ...base, firstError, p50: result.ttlbP50, p99: result.ttlbP99, stream }
  }
  const firstError = result.errors > 0 ? `statuses ${JSON.stringify(result.statuses)}` : undefined
  return { ...base, firstError, p50: result.p50, p99: result.p99 }
}
