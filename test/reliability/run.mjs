#!/usr/bin/env node
// `npm run test:reliability`: the reliability suite (vitest.reliability.config.ts) on the
// database of TEST_DATABASE (sqlite by default). Other arguments go to vitest (a file, -t name...).
//   -- --soak  the full soak profile (200,000 requests, 20 minutes or more)
//   -- --ci    the profile CI runs after `npm test` (.ci/run), about 2-3 minutes: PostgreSQL only,
//              two replicas instead of three, a 2,000-request soak, and the scenarios that fit
//              (the crash scenarios start four processes and take 2-3 minutes alone; the SQLite
//              ones need SQLite). docs/reliability.md, "CI".
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const soak = args.includes('--soak')
const ci = args.includes('--ci')
const env = { ...process.env }
const rest = args.filter((a) => a !== '--soak' && a !== '--ci')
if (soak) {
  env.SOAK_REQUESTS ??= '200000'
  if (rest.length === 0) rest.push('test/reliability/soak.test.ts')
}
if (ci) {
  env.TEST_DATABASE ??= 'postgres'
  env.SOAK_REQUESTS ??= '2000'
  env.RELIABILITY_REPLICAS ??= '2'
  if (rest.length === 0) {
    rest.push(
      'test/reliability/audit.breaks.test.ts',
      'test/reliability/replicas.test.ts',
      'test/reliability/database-outage.test.ts',
      'test/reliability/yookassa-down.test.ts',
      'test/reliability/soak.test.ts',
      'test/reliability/hostile-bodies.test.ts',
    )
  }
}
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const started = Date.now()
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--config', 'vitest.reliability.config.ts', ...rest],
  { cwd: root, env, stdio: 'inherit' },
)
if (ci) {
  process.stdout.write(
    `[reliability ci] ${((Date.now() - started) / 1000).toFixed(0)} s on ${env.TEST_DATABASE}\n`,
  )
}
process.exitCode = result.status ?? 1
