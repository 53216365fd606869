import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

/**
 * scripts/check-rooms.mjs on small trees in temp dirs: each breaks one rule on a tree that
 * otherwise keeps them all, so the failure is that rule's. Its checkRooms() runs in this
 * process (a process per tree costs ~0.3 s); the project itself is checked as `npm run check`
 * runs it, a process whose exit code is the verdict.
 */
const repoRoot = join(import.meta.dirname, '..', '..')
const checker = join(repoRoot, 'scripts', 'check-rooms.mjs')
const { checkRooms } = (await import(pathToFileURL(checker).href)) as {
  checkRooms(root: string): { problems: string[] }
}
const realTable = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8')

/** A tree that keeps every rule: rooms importing downwards, the real docs table. */
const KEPT: Record<string, string> = {
  'docs/architecture.md': realTable,
  'db/tables.ts': 'export interface Tables {}\n',
  'src/lib/clock.ts': 'export const now = () => Date.now()\n',
  // The ledger still reads src/deps.ts, by name in the checker's TOLERATED_DEPS_IMPORTS.
  'src/ledger/service.ts':
    "import type { Tables } from '../../db/tables.ts'\nimport { now } from '../lib/clock.ts'\nimport type { Deps } from '../deps.ts'\n",
  'src/pipeline/pipeline-deps.ts': "import type { Clock } from '../lib/clock.ts'\n",
  'src/deps.ts': "import type { PipelineDeps } from './pipeline/pipeline-deps.ts'\n",
  'src/http/env.ts': "import type { Deps } from '../deps.ts'\n",
  'src/routes/v1/models.ts': "import type { Deps } from '../../deps.ts'\n",
  'src/app.ts': "import './ledger/service.ts'\nimport type { Deps } from './deps.ts'\n",
  'test/unit/ledger.test.ts': "import '../../src/app.ts'\nimport '../helpers/harness.ts'\n",
  'test/helpers/harness.ts': "import { now } from '../../src/lib/clock.ts'\n",
  'bench/run.ts': "import '../test/helpers/harness.ts'\nimport '../src/app.ts'\n",
}

const trees: string[] = []
afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree, { recursive: true, force: true })
})

/** KEPT with `changes` written over it (undefined deletes a file). */
function tree(changes: Record<string, string | undefined> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rooms-'))
  trees.push(root)
  for (const [path, text] of Object.entries({ ...KEPT, ...changes })) {
    if (text === undefined) continue
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

function check(root: string) {
  const { problems } = checkRooms(root)
  return { status: problems.length === 0 ? 0 : 1, errors: problems.join('\n') }
}

function checkAsProcess(root: string) {
  const run = spawnSync(process.execPath, [checker, root], { encoding: 'utf8' })
  return { status: run.status, errors: run.stderr, out: run.stdout }
}

/** The real table with one row's "may import" cell replaced. */
function tableWith(room: string, mayImport: string): string {
  const row = realTable.split('\n').find((line) => line.startsWith(`| \`${room}\` |`))
  if (row === undefined) throw new Error(`no row for ${room} in docs/architecture.md`)
  const cells = row.split(' | ')
  cells[2] = mayImport
  return realTable.replace(row, cells.join(' | '))
}

describe('the rooms checker', () => {
  it('passes the project itself', () => {
    const { status, errors, out } = checkAsProcess(repoRoot)
    expect(errors).toBe('')
    expect(status).toBe(0)
    expect(out).toMatch(/docs\/architecture.md agrees/)
  })

  it('passes a tree that keeps every rule', () => {
    const { status, errors } = check(tree())
    expect(errors).toBe('')
    expect(status).toBe(0)
  })

  it('fails on a loop of files inside one room, naming the way round', () => {
    const { status, errors } = checkAsProcess(
      tree({
        'src/web/csrf.ts': "import { forbidden } from './pages/errors.tsx'\n",
        'src/web/pages/errors.tsx': "import { page } from '../layout.tsx'\n",
        'src/web/layout.tsx': "import { FIELD } from './csrf.ts'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'files of room web import each other: src/web/csrf.ts -> src/web/pages/errors.tsx -> src/web/layout.tsx -> src/web/csrf.ts',
    )
  })

  it('counts a type-only import in a loop: a reader follows it all the same', () => {
    const { status, errors } = check(
      tree({
        'src/http/env.ts': "import type { Source } from './request-headers.ts'\n",
        'src/http/request-headers.ts': "import type { Env } from './env'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain('files of room http import each other')
  })

  it('finds loops inside test/ and bench/ too', () => {
    const { status, errors } = check(
      tree({
        'test/helpers/a.ts': "import './b.ts'\n",
        'test/helpers/b.ts': "export * from './a.ts'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain('files of room test import each other')
  })

  it('fails on an import the table does not allow, naming the files', () => {
    const { status, errors } = check(
      tree({ 'src/lib/money.ts': "import { reserve } from '../ledger/service.ts'\n" }),
    )
    expect(status).toBe(1)
    expect(errors).toContain('lib may not import ledger: src/lib/money.ts -> src/ledger/service.ts')
  })

  it('fails when the product imports test/ or bench/, or db/ imports the product', () => {
    const { status, errors } = check(
      tree({
        'src/pipeline/proxy.ts': "import { harness } from '../../test/helpers/harness.ts'\n",
        'src/app.ts': "import './ledger/service.ts'\nimport('../bench/run.ts')\n",
        'db/client.ts': "import { now } from '../src/lib/clock.ts'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'pipeline may not import test: src/pipeline/proxy.ts -> test/helpers/harness.ts',
    )
    expect(errors).toContain('src may not import bench: src/app.ts -> bench/run.ts')
    expect(errors).toContain('db may not import lib: db/client.ts -> src/lib/clock.ts')
  })

  it('fails on two rooms that import each other, even where the table allows both ways', () => {
    const { status, errors } = check(
      tree({
        'src/app.ts': "import './demo/main.ts'\n",
        'src/demo/main.ts': "import '../app.ts'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain('rooms import each other: demo, src')
  })

  it("fails when the docs table's may-import set of a room differs from the checker's", () => {
    const { status, errors } = check(
      tree({ 'docs/architecture.md': tableWith('src/ledger/', '`config/`, `lib/`') }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'room ledger may import config, lib says docs/architecture.md, config, db, lib says scripts/check-rooms.mjs',
    )
  })

  it('fails when the docs table lacks a room or has one the checker lacks', () => {
    const bench = realTable.split('\n').find((line) => line.startsWith('| `bench/` |'))!
    const { status, errors } = check(
      tree({
        'docs/architecture.md': realTable.replace(
          bench,
          '| `src/media/` | images | `lib/` | a room the checker was never told of |',
        ),
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain('docs/architecture.md has no row for room bench')
    expect(errors).toContain(
      'docs/architecture.md has room media, which scripts/check-rooms.mjs lacks',
    )
  })

  it('fails on a may-import cell it cannot read rather than guessing', () => {
    const { status, errors } = check(
      tree({ 'docs/architecture.md': tableWith('src/web/', 'everything below `routes/`') }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'docs/architecture.md: room web may import "everything below `routes/`"?',
    )
  })

  it('fails on an import of src/deps.ts from a domain room, type-only or not, naming the file', () => {
    const { status, errors } = checkAsProcess(
      tree({
        'src/pipeline/settle/settle.ts': "import type { Deps } from '../../deps.ts'\n",
        'src/billing/plans.service.ts': "import { type Deps } from '../deps'\n",
      }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'src/pipeline/settle/settle.ts imports src/deps.ts: room pipeline declares the collaborators it calls itself',
    )
    expect(errors).toContain(
      'src/billing/plans.service.ts imports src/deps.ts: room billing declares the collaborators it calls itself',
    )
  })

  it('lets the entries, the Hono env, the surfaces, the tests and the bench read src/deps.ts', () => {
    const { status, errors } = check(
      tree({
        'src/web/health.ts': "import type { Deps } from '../deps.ts'\n",
        'src/demo/main.ts': "import type { Deps } from '../deps.ts'\n",
        'test/helpers/harness.ts': "import type { Deps } from '../../src/deps.ts'\n",
      }),
    )
    expect(errors).toBe('')
    expect(status).toBe(0)
  })

  it('fails when a file tolerated to read src/deps.ts no longer does, so its exception goes too', () => {
    const { status, errors } = check(
      tree({ 'src/ledger/service.ts': "import { now } from '../lib/clock.ts'\n" }),
    )
    expect(status).toBe(1)
    expect(errors).toContain(
      'src/ledger/service.ts no longer imports src/deps.ts: delete it from TOLERATED_DEPS_IMPORTS',
    )
  })

  it('fails when a tolerated loop is gone, so its exception is deleted with it', () => {
    const { status, errors } = check(
      tree({
        'test/helpers/fake-upstream.ts': "import './fake-upstream.answers.ts'\n",
        'test/helpers/fake-upstream.answers.ts': "import './fake-upstream.events.ts'\n",
        'test/helpers/fake-upstream.events.ts': 'export {}\n',
      }),
    )
    expect(status).toBe(1)
    expect(errors).toMatch(/the loop of .*fake-upstream.* is gone: delete it from TOLERATED_LOOPS/)
  })
})
