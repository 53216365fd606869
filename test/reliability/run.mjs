#!/usr/bin/env node
// `npm run test:reliability`: the reliability suite (vitest.reliability.config.ts) on the
// database of TEST_DATABASE (sqlite by default). `-- --soak` runs the full soak profile
// (200,000 requests, minutes); other arguments go to vitest (a file, -t name...).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const soak = args.includes('--soak')
const env = { ...process.env }
if (soak) env.SOAK_REQUESTS ??= '200000'
const rest = args.filter((a) => a !== '--soak')
if (soak && rest.length === 0) rest.push('test/reliability/soak.test.ts')
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--config', 'vitest.reliability.config.ts', ...rest],
  { cwd: root, env, stdio: 'inherit' },
)
process.exitCode = result.status ?? 1
