import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CpuProfile, formatSummary, summarizeProfile } from './cpuprofile-summary.ts'
import { startDriver } from './driver-client.ts'
import { type GatewayHandle, startGateway } from './gateway-target.ts'
import { bodies } from './payloads.ts'
import { cpuMicros } from './proc-stats.ts'
import { ROOT, stopAll } from './processes.ts'
import { CHAT_PATH, startMock } from './targets.ts'

/**
 * `npx tsx bench/profile.ts`: the gateway under `node --cpu-prof` with the non-stream chat load
 * at 16 concurrent (the main target), then the profile summed by function, file and
 * package. Only the samples taken while the measured load ran are counted (start-up, migration
 * and warm-up are left out). Env: PROFILE_DB=sqlite|postgres, PROFILE_SECONDS (default 15),
 * PROFILE_CONNECTIONS (default 16), PROFILE_BODY=chat|stream|long.
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
  const toUs = nowUs()
  log(
    `load: ${result.ok} requests, ${result.rps.toFixed(0)} req/s, ${(cpuUs / Math.max(1, result.ok)).toFixed(0)} µs CPU per request, ${result.errors} errors`,
  )
  await gateway.stop()
  gateway = undefined
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: the main thread's id is 0.
  const main = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')
  if (!main) throw new Error(`no main-thread profile in ${dir} (the gateway did not exit cleanly?)`)
  const file = join(dir, main)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  // The profile's clock is CLOCK_MONOTONIC in µs, like hrtime: use the load window when it fits.
  const fits = fromUs >= profile.startTime && toUs <= profile.endTime
  if (!fits) log('load window outside the profile clock; summing the whole profile')
  const summary = summarizeProfile(profile, fits ? { fromUs, toUs } : undefined, 40)
  const text = formatSummary(summary)
  writeFileSync(join(dir, 'summary.txt'), `${text}\n`)
  process.stdout.write(`${text}\n\nprofile: ${file}\n`)
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
