#!/usr/bin/env node
// Compiles the gateway for production: each entry of ENTRIES becomes one ES module bundle of
// src/ (with its source map) in dist/, beside a copy of the assets the pages read from disk.
// `npm start` runs it first (prestart), the Dockerfile runs it in its build stage; tests and
// development keep running the sources under tsx. Usage: node scripts/build.mjs [--outdir DIR]
import { cpSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')

/**
 * What production runs, one bundle each, all at the top of the output folder: a path a module
 * resolves against its own `import.meta.url` (`./assets/...`, a worker's `./name.js`) then
 * names the same file from whichever bundle runs it. A worker-thread entry is one more line
 * here, and its loader picks `./name.ts` under tsx and `./name.js` when compiled.
 */
export const ENTRIES = [
  { in: 'src/main.ts', out: 'main' },
  { in: 'src/cli.ts', out: 'cli' },
  // The token counting thread (src/pipeline/estimate/token-pool.ts starts it).
  { in: 'src/pipeline/estimate/token-worker.ts', out: 'token-worker' },
]

/** Read at run time beside the bundles (`new URL('./assets/...', import.meta.url)` in src/web). */
const ASSETS = [{ from: 'src/web/assets', to: 'assets' }]

export async function buildGateway(outdir = join(root, 'dist')) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    // Packages stay in node_modules: native addons (better-sqlite3), pg, pino and the files
    // swagger-ui-dist serves are loaded as installed, never copied into a bundle.
    packages: 'external',
    // Production stack traces point at src/ (node --enable-source-maps).
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
  })
  for (const asset of ASSETS) {
    cpSync(join(root, asset.from), join(outdir, asset.to), { recursive: true, force: true })
  }
  assertProductionImportsOnly(result.metafile)
  return outdir
}

/**
 * The runtime image installs `dependencies` only: a bundle that imports a devDependency
 * would build here and fail there at start, so the build fails instead.
 */
function assertProductionImportsOnly(metafile) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const installed = new Set(Object.keys(manifest.dependencies ?? {}))
  const missing = new Set()
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:')) continue
      const name = path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]
      if (!installed.has(name)) missing.add(name)
    }
  }
  if (missing.size > 0) {
    throw new Error(`the bundles import packages that are not dependencies: ${[...missing]}`)
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } })
  const outdir = await buildGateway(values.outdir && resolve(values.outdir))
  process.stdout.write(
    `built ${ENTRIES.map((e) => `${e.out}.js`).join(', ')} in ${relative(root, outdir) || '.'}\n`,
  )
}
