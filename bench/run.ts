import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { type Driver, startDriver } from './load/driver-client.ts'
import { type BenchOptions, readOptions } from './options.ts'
import { freePort, ROOT, stopAll } from './proc/processes.ts'
import { evaluate } from './report/checks.ts'
import { type BenchReport, renderReport, type StoredBytes } from './report/render.ts'
import { writeJson } from './report/results.ts'
import { summarize } from './report/summary.ts'
import { estimatorLine } from './report/tables.ts'
import { measure, type Sample, SCENARIOS } from './scenarios/catalog.ts'
import { timeEstimator } from './scenarios/estimator.ts'
import { bodies } from './scenarios/payloads.ts'
import { measureSlow, type SlowSample } from './scenarios/slow-streams.ts'
import { startFloor } from './targets/floor.ts'
import { type GatewayHandle, startGateway } from './targets/gateway.ts'
import { type Mock, startMock } from './targets/mock.ts'
import { type BenchDatabase, createBenchDatabase, postgresReachable } from './targets/postgres.ts'
import { CHAT_PATH, type Target } from './targets/target.ts'

/**
 * `npm run bench`: the gateway beside a bare hono + undici proxy (the floor) and beside calling
 * the mock upstream directly, each in its own process, under the same load from a separate
 * driver process. Progress goes to stderr; the tables to stdout; everything to bench/results/.
 */
const FLOOR_STREAMS = {
  web: 'through a Web ReadableStream and @hono/node-server',
  node: "to Node's response directly",
}
const log = (line: string) => process.stderr.write(`${line}\n`)
const gateways: GatewayHandle[] = []
const boundDatabases: BenchDatabase[] = []

async function startTargets(options: BenchOptions, mock: Mock, notes: string[]): Promise<Target[]> {
  const targets: Target[] = []
  if (options.targets.has('direct')) targets.push(mock.target)
  // Every measured proxy gets an inspector port (or none), so that none differs by it.
  const inspectPort = async () => (options.inspect ? await freePort() : undefined)
  if (options.targets.has('floor')) {
    targets.push((await startFloor(mock.origin, options.floorStream, await inspectPort())).target)
    notes.push(
      `floor: JSON answers buffered, streams written ${FLOOR_STREAMS[options.floorStream]}`,
    )
  }
  if (options.targets.has('floor+ledger'))
    targets.push(...(await startBounds(options, mock, notes)))
  for (const db of ['sqlite', 'postgres'] as const) {
    if (!options.targets.has(db)) continue
    if (db === 'postgres' && !(await postgresReachable())) {
      notes.push('postgres: nothing listens on 127.0.0.1:5432, not measured')
      continue
    }
    try {
      const gateway = await startGateway({
        db,
        mockOrigin: mock.origin,
        inspectPort: await inspectPort(),
      })
      gateways.push(gateway)
      targets.push(...gateway.targets)
      notes.push(
        `${db}: the compiled gateway (dist/main.js); bench user on ${gateway.planVia}; targets ${gateway.targets.map((t) => t.name).join(', ')}`,
      )
    } catch (error) {
      notes.push(`${db}: gateway not measured: ${(error as Error).message.split('\n')[0]}`)
      log(`gateway ${db} failed to start:\n${(error as Error).message}`)
    }
  }
  return targets
}

/** The scenarios the floor+ledger bounds are measured in: the issue's throughput and CPU targets. */
const BOUND_SCENARIOS = ['chat-c1', 'chat-c16', 'stream-c16']

/**
 * The floor plus the least metering (bench/targets/floor-ledger.ts), on SQLite, and on
 * PostgreSQL (a database of its own) when the postgres target runs too.
 */
async function startBounds(options: BenchOptions, mock: Mock, notes: string[]): Promise<Target[]> {
  const bound = async (name: string, where: string) => {
    const { target } = await startFloor(mock.origin, 'node', undefined, { name, where })
    return { ...target, scenarios: BOUND_SCENARIOS }
  }
  const targets = [await bound('floor+ledger', `/tmp/bench-floor-ledger-${process.pid}.db`)]
  if (options.targets.has('postgres') && (await postgresReachable())) {
    const database = await createBenchDatabase('_floor_ledger')
    boundDatabases.push(database)
    targets.push({
      ...(await bound('floor+ledger-pg', database.url)),
      dbPids: database.backendPids,
    })
  }
  notes.push(
    `${targets.map((t) => t.name).join(', ')}: the floor plus the least metering (bench/targets/floor-ledger.ts), in ${BOUND_SCENARIOS.join(', ')}`,
  )
  return targets
}

/** Unmeasured load on every target first, so no one pays the JIT and pool warm-up in round 1. */
async function warmUp(driver: Driver, targets: Target[], options: BenchOptions) {
  for (const t of targets) {
    const url = t.origin + CHAT_PATH
    const common = { url, durationS: options.warmupS, headers: t.headers }
    await driver.run({ kind: 'autocannon', connections: 16, body: bodies.chat, ...common })
    await driver.run({ kind: 'autocannon', connections: 4, body: bodies.long, ...common })
    await driver.run({ kind: 'stream', concurrency: 16, body: bodies.stream, ...common })
  }
}

async function runRounds(
  driver: Driver,
  mock: Mock,
  targets: Target[],
  options: BenchOptions,
): Promise<Sample[]> {
  const samples: Sample[] = []
  const scenarios = SCENARIOS.filter(
    (s) => options.scenarios.size === 0 || options.scenarios.has(s.id),
  )
  for (let round = 0; round < options.rounds; round++) {
    // Alternate the order so that no target always runs first (or last) after a given other.
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const scenario of scenarios) {
      if (!scenario.everyRound && round > 0) continue
      const runs = (t: Target) =>
        scenario.applies(t) && (t.scenarios?.includes(scenario.id) ?? true)
      for (const target of order.filter(runs)) {
        const s = await measure(driver, mock.child.pid, scenario, target, round, options)
        samples.push(s)
        const error = s.errors > 0 ? `  ERRORS ${s.errors}: ${s.firstError ?? ''}` : ''
        log(
          `round ${round + 1}/${options.rounds} ${scenario.id.padEnd(12)} ${target.name.padEnd(12)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(2)} ms  ${s.cpuUsPerRequest.toFixed(0)} µs/req${error}`,
        )
      }
    }
  }
  return samples
}

/** The commit measured, read when the run starts, with "+dirty" when src/ or db/ had edits. */
function gitCommit(): string | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT }).toString().trim()
    const dirty = git('status', '--porcelain', '--', 'src', 'db') !== ''
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+dirty' : ''}`
  } catch {
    return null
  }
}

async function main() {
  const options = readOptions(process.env)
  const startedAt = Date.now()
  // Other work on the machine skews every number: the load average says how much there was.
  const loadBefore = os.loadavg()[0]!
  const commit = gitCommit()
  const notes: string[] = []
  log(
    `bench: ${options.quick ? 'quick' : 'full'} run, ${options.rounds} round(s) of ${options.durationS} s`,
  )
  const estimator = await timeEstimator()
  log(estimatorLine(estimator))
  const mock = await startMock(options.chunks)
  const targets = await startTargets(options, mock, notes)
  for (const note of notes) log(note)
  const driver = await startDriver()
  await warmUp(driver, targets, options)
  const samples = await runRounds(driver, mock, targets, options)
  const slow: SlowSample[] = []
  if (options.scenarios.size === 0 || options.scenarios.has('slow-streams')) {
    const measured = (t: Target) => t.kind !== 'direct' && !t.name.endsWith('-key') && !t.scenarios
    for (const target of targets.filter(measured)) {
      const s = await measureSlow(driver, mock, target, options)
      slow.push(s)
      log(
        `slow streams ${target.name}: ${s.upstreamOpen}/${s.streams} open upstream, ${s.rssPerStreamKb.toFixed(1)} KB RSS each, heap ${s.heapBeforeMb?.toFixed(1)} -> ${s.heapOpenMb?.toFixed(1)} -> ${s.heapAfterMb?.toFixed(1)} MB${s.firstError ? `, error: ${s.firstError}` : ''}`,
      )
    }
  }
  // The counters prove the full path ran: every request reserved, settled and was billed.
  // What the run left in each database, per request recorded.
  const storage: StoredBytes[] = []
  for (const gateway of gateways) {
    const target = gateway.targets[0]!.name
    notes.push(`${target}: billed to the bench user: ${await gateway.usage()}`)
    try {
      storage.push({ target, ...(await gateway.storage()) })
    } catch (error) {
      notes.push(`${target}: storage not read: ${(error as Error).message}`)
    }
  }
  const rows = summarize(samples)
  const checks = evaluate(rows, slow, estimator, options.chunks)
  const meta = {
    date: new Date(startedAt).toISOString(),
    elapsedS: Math.round((Date.now() - startedAt) / 1000),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    loadAverage1m: { before: loadBefore, after: os.loadavg()[0]! },
    commit,
  }
  const report: BenchReport = {
    meta,
    options: { rounds: options.rounds, durationS: options.durationS },
    notes,
    estimator,
    rows,
    slow,
    storage,
    checks,
  }
  process.stdout.write(renderReport(report))
  const file = writeJson({
    ...report,
    options: { ...options, targets: [...options.targets], scenarios: [...options.scenarios] },
    samples,
  })
  log(`results: ${file} (${meta.elapsedS} s)`)
}

async function cleanup() {
  await Promise.allSettled(gateways.map((g) => g.stop()))
  await stopAll()
  await Promise.allSettled(boundDatabases.map((database) => database.drop()))
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)))
}
main()
  .catch((error) => {
    log(`bench failed: ${(error as Error).stack ?? error}`)
    process.exitCode = 1
  })
  .finally(() => cleanup())
