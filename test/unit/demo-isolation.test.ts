import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../helpers/spawn-gateway.ts'

/**
 * The demo (simulated upstream, YooKassa sandbox, made-up secrets) must be
 * unreachable from the production path: no module that `npm start` or the CLI
 * loads may import anything under src/demo, whichever way round.
 */
const DEMO = join(repoRoot, 'src', 'demo')
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm

function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3]
    if (!specifier?.startsWith('.')) continue
    const target = resolve(dirname(file), specifier)
    found.push(existsSync(target) ? target : `${target}.ts`)
  }
  return found
}

/** Every repository module reachable from `entry` through static and literal dynamic imports. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>()
  const queue = [join(repoRoot, entry)]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file) || !existsSync(file)) continue
    seen.add(file)
    queue.push(...localImports(file))
  }
  return seen
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

describe('the demo is separate from the production path', () => {
  it('src/main.ts and src/cli.ts reach no module under src/demo', () => {
    for (const entry of ['src/main.ts', 'src/cli.ts']) {
      const modules = [...reachable(entry)].map((file) => relative(repoRoot, file))
      // The walk must see the real graph, or an empty set would pass for the wrong reason.
      expect(modules, entry).toContain('src/app.ts')
      expect(
        modules.filter((file) => file.startsWith('src/demo/')),
        entry,
      ).toEqual([])
    }
  })

  it('no module under src/ outside src/demo imports from it', () => {
    const offenders = sourceFiles(join(repoRoot, 'src'))
      .filter((file) => !file.startsWith(`${DEMO}/`))
      .filter((file) => localImports(file).some((target) => target.startsWith(`${DEMO}/`)))
      .map((file) => relative(repoRoot, file))
    expect(offenders).toEqual([])
  })

  it('the demo entry itself does reach the sandbox (the walk would notice an import)', () => {
    const modules = [...reachable('src/demo/main.ts')].map((file) => relative(repoRoot, file))
    expect(modules).toContain('src/demo/yookassa/sandbox.ts')
    expect(modules).toContain('src/start-gateway.ts')
  })
})
