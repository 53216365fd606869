import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { startDriver } from './load/driver-client.ts'
import { ROOT, stopAll } from './proc/processes.ts'
import { cpuMicros } from './proc/stats.ts'
import { bodies } from './scenarios/payloads.ts'
import { type GatewayHandle, startGateway } from './targets/gateway.ts'
import { startMock } from './targets/mock.ts'
import { CHAT_PATH } from './targets/target.ts'

/**
 * `npm run bench:profile`: the gateway under `node --cpu-prof` with one load (default the
 * non-stream chat at 16 concurrent), then cpupro (a published analyzer of V8 CPU profiles)
 * writes a self-contained HTML report beside the profile: time by package, module and function,
 * and a timeline on which to select the load window (the profile also holds start-up and 3 s
 * of warm-up; the load window's offsets are printed). The .cpuprofile also opens in Chrome
 * DevTools (Performance panel) or speedscope.
 * Env: PROFILE_DB=sqlite|postgres, PROFILE_SECONDS (default 15), PROFILE_CONNECTIONS (16),
 * PROFILE_BODY=chat|stream|long.
 */
const log = (line: string) => process.stderr.write(`${line}\n`)
const nowUs = () => Number(process.hrtime.bigint() / 1000n)
let gateway: GatewayHandle | undefined

async function main() {
  const db = process.env.PROFILE_DB === 'postgres' ? 'postgres' : 'sqlite'
  const seconds = Number(process.env.PROFILE_SECONDS ?? 15)
  const connections = Number(process.env.PROFILE_CONNECTIONS ?? 16)
  const bodyName = (process.env.PROFILE_BODY ?? 'chat') as keyof typeof bodies
  const name = `gateway-${db}-${bodyName}-c${connections}-${Date.now()}`
  const dir = join(ROOT, 'bench/results/profiles', name)
  mkdirSync(dir, { recursive: true })
  const mock = await startMock(20)
  gateway = await startGateway({
    db,
    mockOrigin: mock.origin,
    nodeArgs: [
      // No --cpu-prof-name: every thread writes a profile (tsx's module-hooks thread too) and
      // one shared name would let the last thread to exit overwrite the main thread's.
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      '--cpu-prof-interval=250',
    ],
  })
  const target = gateway.targets[0]!
  const driver = await startDriver()
  const stream = bodyName === 'stream'
  const job = (durationS: number) =>
    stream
      ? {
          kind: 'stream' as const,
          url: target.origin + CHAT_PATH,
          concurrency: connections,
          durationS,
          headers: target.headers,
          body: bodies.stream,
        }
      : {
          kind: 'autocannon' as const,
          url: target.origin + CHAT_PATH,
          connections,
          durationS,
          headers: target.headers,
          body: bodies[bodyName],
        }
  await driver.run(job(3))
  const fromUs = nowUs()
  const cpuBefore = cpuMicros(target.pid)
  const result = await driver.run(job(seconds))
  const cpuUs = cpuMicros(target.pid) - cpuBefore
  log(
    `load: ${result.ok} requests, ${result.rps.toFixed(0)} req/s, ${(cpuUs / Math.max(1, result.ok)).toFixed(0)} µs CPU per request, ${result.errors} errors`,
  )
  await gateway.stop()
  gateway = undefined
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: the main thread's id is 0.
  const main = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')
  if (!main) throw new Error(`no main-thread profile in ${dir} (the gateway did not exit cleanly?)`)
  const file = join(dir, main)
  // cpupro's CLI from this repository's node_modules; -n: write the report, open no browser.
  const pkg = createRequire(import.meta.url).resolve('cpupro/package.json')
  const cli = join(dirname(pkg), 'bin/cpupro')
  execFileSync(process.execPath, [cli, '-n', '-o', dir, '-f', 'report.html', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  // The profile's clock is the monotonic one of hrtime, in µs.
  const { startTime } = JSON.parse(readFileSync(file, 'utf8')) as { startTime: number }
  const startedS = (fromUs - startTime) / 1e6
  log(
    `load window: ${startedS.toFixed(1)} s to ${(startedS + seconds).toFixed(1)} s of the profile`,
  )
  process.stdout.write(`profile: ${file}\nreport:  ${join(dir, 'report.html')}\n`)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.allSettled([gateway?.stop(), stopAll()]).finally(() => process.exit(130))
  })
}
main()
  .catch((error) => {
    log(`profile failed: ${(error as Error).stack ?? error}`)
    process.exitCode = 1
  })
  .finally(async () => {
    await gateway?.stop()
    await stopAll()
  })
