#!/usr/bin/env node
// `npm run test:reliability`: the reliability suite (vitest.reliability.config.ts) on the
// database of TEST_DATABASE (sqlite by default). Other arguments go to vitest (a file, -t name...).
//   -- --soak  the full soak profile (200,000 requests, 20 minutes or more)
//   -- --ci    the profile CI runs after `npm test` (.ci/run): on PostgreSQL, two replicas instead
//              of three, a 2,000-request soak, and the scenarios that fit (crash.test.ts starts four
//              processes and takes 2-3 minutes alone; the SQLite ones need SQLite); then the
//              entry-point scenarios below again on SQLite. docs/reliability.md, "CI".
//   -- --entry-points  only the entry-point scenarios below, on PostgreSQL and on SQLite (.ci/node24
//              runs them under Node 24 after `npm test`)
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The scenarios that run the real entry points (`npm start`, `npm run gateway`, `npm run demo`) as
 * child processes, kill -9 included. They stay out of `npm test`, whose time their process starts
 * would double; CI runs them here, on both databases as `npm test` runs the rest.
 */
const ENTRY_POINT_SCENARIOS = [
  'test/reliability/startup.test.ts',
  'test/reliability/logging.format.test.ts',
  'test/reliability/migrations.cli.test.ts',
  'test/reliability/plans.cli.test.ts',
  'test/reliability/demo.test.ts',
  'test/reliability/billing-integrity.answer-first.test.ts',
  'test/reliability/billing-integrity.crash.test.ts',
  'test/reliability/billing-integrity.restart.test.ts',
  'test/reliability/webhook.crash.test.ts',
  'test/reliability/build.test.ts',
]

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const soak = args.includes('--soak')
const ci = args.includes('--ci')
const entryPoints = args.includes('--entry-points')
const env = { ...process.env }
const rest = args.filter((a) => a !== '--soak' && a !== '--ci' && a !== '--entry-points')
/** Also run the entry-point scenarios on SQLite after the PostgreSQL run. */
let entryPointsOnSqlite = false
if (soak) {
  env.SOAK_REQUESTS ??= '200000'
  if (rest.length === 0) rest.push('test/reliability/soak.test.ts')
}
if (ci) {
  env.TEST_DATABASE ??= 'postgres'
  env.SOAK_REQUESTS ??= '2000'
  env.RELIABILITY_REPLICAS ??= '2'
  if (rest.length === 0) {
    entryPointsOnSqlite = true
    rest.push(
      'test/reliability/audit.breaks.test.ts',
      'test/reliability/replicas.test.ts',
      'test/reliability/database-outage.test.ts',
      'test/reliability/yookassa-down.test.ts',
      'test/reliability/soak.test.ts',
      'test/reliability/hostile-bodies.test.ts',
      ...ENTRY_POINT_SCENARIOS,
    )
  }
}
if (entryPoints && rest.length === 0) {
  env.TEST_DATABASE ??= 'postgres'
  entryPointsOnSqlite = true
  rest.push(...ENTRY_POINT_SCENARIOS)
}
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')

/** One vitest run of the reliability config; returns its exit status. */
function runOnce(files, runEnv) {
  const started = Date.now()
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', 'vitest.reliability.config.ts', ...files],
    { cwd: root, env: runEnv, stdio: 'inherit' },
  )
  if (ci || entryPoints) {
    const seconds = ((Date.now() - started) / 1000).toFixed(0)
    process.stdout.write(`[reliability ci] ${seconds} s on ${runEnv.TEST_DATABASE}\n`)
  }
  return result.status ?? 1
}

const statuses = [runOnce(rest, env)]
if (entryPointsOnSqlite && env.TEST_DATABASE === 'postgres') {
  statuses.push(runOnce(ENTRY_POINT_SCENARIOS, { ...env, TEST_DATABASE: 'sqlite' }))
}
process.exitCode = statuses.some((status) => status !== 0) ? 1 : 0
