#!/usr/bin/env node
// The rooms of the project (docs/architecture.md, Rooms) import only the rooms the table
// MAY_IMPORT allows, never in a circle (for every pair of rooms, imports go one way only), and
// no file imports itself back through the other files of its own room. The table in
// docs/architecture.md must say the same as MAY_IMPORT: same rooms, same "may import" sets.
//
//   node scripts/check-rooms.mjs [--list] [root]
//
// Run by `npm run check` on the project; `root` (default: this script's project) lets the tests
// run it on fixture trees. Prints each problem and exits 1, or prints one line and exits 0;
// `--list` also prints which rooms each room imports today.
//
// A room is a folder of src/ (src/web/pages counts as src/web), the files at the top of src/
// (the entries, deps.ts, app.ts: the room "src"), db/, bench/ or test/. Files at the project
// root (gateway.config.ts, the vitest configs) are configuration, read by no room's rule.
// Type-only imports (`import type`, erased at run time) count too, except those of src/deps.ts,
// which have a rule of their own: Deps is the union of what each room declares it calls, and
// only the rooms of DEPS_READERS (the entries and the surfaces that hand it down from hono's
// Context) may import it; a domain room that does fails, as a loop inside a room does.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Stands for every room of the product: each folder of src/, the room "src" and db/. */
const PRODUCT = '*'
const BELOW = ['config', 'lib']
/** What each room may import besides itself and packages: docs/architecture.md, Rooms. */
export const MAY_IMPORT = {
  lib: [],
  config: ['lib'],
  db: [],
  yookassa: ['lib'],
  auth: ['db', ...BELOW],
  ledger: ['db', ...BELOW],
  billing: ['ledger', 'db', ...BELOW],
  notify: ['db', ...BELOW],
  payments: ['notify', 'billing', 'ledger', 'auth', 'yookassa', 'db', ...BELOW],
  http: ['auth', 'yookassa', ...BELOW],
  pipeline: ['http', 'notify', 'billing', 'ledger', 'auth', 'db', ...BELOW],
  cli: ['payments', 'billing', 'ledger', 'auth', ...BELOW],
  routes: ['pipeline', 'http', 'notify', 'payments', 'billing', 'ledger', 'auth', 'yookassa', 'db', ...BELOW],
  web: ['routes', 'pipeline', 'http', 'notify', 'payments', 'billing', 'ledger', 'auth', 'db', ...BELOW],
  // The entries (main, cli, boot, app, scheduler, start-gateway) and the demo build everything.
  src: [PRODUCT],
  demo: [PRODUCT],
  // Tests and the bench drive the product from outside; the product never imports them.
  test: [PRODUCT],
  bench: [PRODUCT, 'test'],
}

/**
 * The rooms that may import src/deps.ts (docs/architecture.md, "Dependencies"): the entries
 * and the demo, which build Deps; the Hono env (http/) and the surfaces (routes/, web/), which
 * take it from the request's Context and hand each service the part it names; the tests and
 * the bench. Every other room declares the collaborators it calls (e.g.
 * src/pipeline/pipeline-deps.ts) and imports nothing above it to name them.
 */
export const DEPS_READERS = ['src', 'demo', 'http', 'routes', 'web', 'test', 'bench']

/**
 * Domain files still importing src/deps.ts, each group with why: the checker fails when one
 * more file does, or when one of these, still there, no longer does (then delete its line).
 */
const TOLERATED_DEPS_IMPORTS = [
  {
    files: [
      'src/ledger/lineage.ts',
      'src/ledger/liveness.job.ts',
      'src/ledger/service.ts',
      'src/ledger/sweeper.ts',
      'src/ledger/usage-retention.job.ts',
    ],
    why: 'the ledger is being reshaped (one usage row per request): its own collaborators interface comes with that change',
  },
]

/**
 * Loops inside a room left as they are for now, each with why: the checker fails when one
 * grows or, its files still there, is gone (then delete its line here).
 */
const TOLERATED_LOOPS = [
  {
    files: [
      'test/helpers/fake-upstream.answers.ts',
      'test/helpers/fake-upstream.events.ts',
      'test/helpers/fake-upstream.ts',
    ],
    why: 'the answer and event builders read the Behavior type back: it wants a file of its own',
  },
]

/** The folders the checker reads, relative to the project root. */
const TOP_FOLDERS = ['src', 'db', 'bench', 'test']
const SOURCE = /\.(tsx?|mjs|js)$/

function* sourceFiles(dir) {
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* sourceFiles(path)
    else if (SOURCE.test(name)) yield path
  }
}

/** The room of a project-relative path, or undefined for files outside every room. */
function roomOf(path) {
  const parts = path.split('/')
  if (!TOP_FOLDERS.includes(parts[0]) || parts.length === 1) return undefined
  if (parts[0] !== 'src') return parts[0]
  return parts.length === 2 ? 'src' : parts[1]
}

/** `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`: the path is group 1. */
const IMPORT = /(?:^\s*(?:import|export)\s[^'"]*?from\s*|^\s*import\s*|\bimport\(\s*)['"](\.[^'"]+)['"]/gm

/** The file an import names: as written, or with the extension or index TypeScript would add. */
function resolveImport(root, from, specifier) {
  const target = resolve(root, dirname(from), specifier)
  const candidates = [target, `${target}.ts`, `${target}.tsx`, join(target, 'index.ts')]
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile()) ?? target
  return relative(root, found)
}

/**
 * Every relative import between files of the rooms: [{ from, to }] as project-relative paths;
 * the imports of src/deps.ts apart, as the files that import it.
 */
function readImports(root) {
  const imports = []
  const depsReaders = []
  for (const folder of TOP_FOLDERS) {
    for (const file of sourceFiles(join(root, folder))) {
      const from = relative(root, file)
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const to = resolveImport(root, from, match[1])
        if (to === DEPS_FILE) depsReaders.push(from)
        else if (roomOf(to) !== undefined) imports.push({ from, to })
      }
    }
  }
  return { imports, depsReaders }
}

const DEPS_FILE = 'src/deps.ts'

/** Each domain file that imports src/deps.ts but the tolerated ones, and each tolerated one that no longer does. */
function depsProblems(root, depsReaders) {
  const problems = []
  const tolerated = new Set(TOLERATED_DEPS_IMPORTS.flatMap((group) => group.files))
  for (const from of [...new Set(depsReaders)].sort()) {
    const room = roomOf(from)
    if (from === DEPS_FILE || DEPS_READERS.includes(room) || tolerated.has(from)) continue
    problems.push(
      `${from} imports ${DEPS_FILE}: room ${room} declares the collaborators it calls itself (a Pick of its own interface, e.g. src/pipeline/pipeline-deps.ts)`,
    )
  }
  for (const file of tolerated) {
    if (existsSync(join(root, file)) && !depsReaders.includes(file)) {
      problems.push(
        `${file} no longer imports ${DEPS_FILE}: delete it from TOLERATED_DEPS_IMPORTS`,
      )
    }
  }
  return problems
}

/** The strongly connected components of more than one node (Tarjan): each holds a cycle. */
function cycles(graph) {
  let index = 0
  const stack = []
  const state = new Map()
  const found = []
  function visit(v) {
    state.set(v, { index, low: index, onStack: true })
    index++
    stack.push(v)
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!state.has(w)) {
        visit(w)
        state.get(v).low = Math.min(state.get(v).low, state.get(w).low)
      } else if (state.get(w).onStack) {
        state.get(v).low = Math.min(state.get(v).low, state.get(w).index)
      }
    }
    if (state.get(v).low === state.get(v).index) {
      const component = []
      let w
      do {
        w = stack.pop()
        state.get(w).onStack = false
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!state.has(v)) visit(v)
  return found
}

/** One shortest way round a component, from its first node back to it (breadth first). */
function loopThrough(graph, component) {
  const start = component[0]
  const cameFrom = new Map()
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!component.includes(w) || cameFrom.has(w)) continue
      cameFrom.set(w, v)
      if (w === start) queue.length = 0
      else queue.push(w)
    }
  }
  const path = [start]
  for (let v = cameFrom.get(start); v !== start; v = cameFrom.get(v)) path.unshift(v)
  return [start, ...path]
}

/** graph: node -> Map(node -> an example import); adds the edge once. */
function addEdge(graph, from, to, example) {
  if (!graph.has(from)) graph.set(from, new Map())
  if (!graph.get(from).has(to)) graph.get(from).set(to, example)
}

/** The rooms a table entry allows, with PRODUCT spelled out as the product's rooms. */
function allowedRooms(entry, productRooms) {
  return new Set(entry.flatMap((room) => (room === PRODUCT ? productRooms : [room])))
}

/**
 * The rooms table of docs/architecture.md as { room: [rooms it may import] }. The first cell
 * names the room (`src/ledger/`, `src/*.ts`, `db/`); the "may import" cell is `nothing of ours`
 * or a comma list of rooms (`ledger/`, `src/*.ts`) and `everything of the product`; words in
 * parentheses are notes.
 */
export function readDocTable(text) {
  const section = text.split(/^## /m).find((part) => part.startsWith('Rooms'))
  if (section === undefined) return { problems: ['docs/architecture.md has no "## Rooms" section'] }
  const rows = section.split('\n').filter((line) => line.startsWith('| `'))
  const table = {}
  const problems = []
  for (const row of rows) {
    const [place, , mayImport] = row.split(' | ')
    const room = docRoom(place.replace(/^\| /, ''))
    const cell = mayImport.replace(/\([^)]*\)/g, '').trim()
    if (room === undefined) problems.push(`docs/architecture.md: cannot name the room of ${place}`)
    else if (cell === 'nothing of ours') table[room] = []
    else {
      const items = cell.split(/,\s*/).map((item) => item.trim())
      const rooms = items.map((item) =>
        item === 'everything of the product' ? PRODUCT : docRoom(item),
      )
      const unread = items.filter((_, i) => rooms[i] === undefined)
      if (unread.length > 0) {
        problems.push(`docs/architecture.md: room ${room} may import "${unread.join(', ')}"?`)
      } else table[room] = rooms
    }
  }
  return { table, problems }
}

/** `src/ledger/` and `ledger/` name ledger, `src/*.ts` names src, `db/` names db. */
function docRoom(cell) {
  const name = /^`([^`]+)`$/.exec(cell.trim())?.[1]
  if (name === undefined) return undefined
  if (name === 'src/*.ts') return 'src'
  const folder = /^(?:src\/)?([a-z-]+)\/$/.exec(name)?.[1]
  return folder
}

/** The doc's table against MAY_IMPORT: one line per room on which they differ. */
function compareTables(doc) {
  const problems = []
  const show = (rooms) => (rooms.length === 0 ? 'nothing' : [...rooms].sort().join(', '))
  for (const room of Object.keys(MAY_IMPORT)) {
    if (!(room in doc)) problems.push(`docs/architecture.md has no row for room ${room}`)
  }
  for (const [room, rooms] of Object.entries(doc)) {
    const own = MAY_IMPORT[room]
    if (own === undefined) {
      problems.push(`docs/architecture.md has room ${room}, which scripts/check-rooms.mjs lacks`)
    } else if (show(own) !== show(rooms)) {
      problems.push(
        `room ${room} may import ${show(rooms)} says docs/architecture.md, ${show(own)} says scripts/check-rooms.mjs`,
      )
    }
  }
  return problems
}

/**
 * Checks the project at `root`: returns its problems (empty when it keeps the rules) and
 * `rooms`, which rooms each room imports today.
 */
export function checkRooms(root) {
  const problems = []
  const docPath = join(root, 'docs', 'architecture.md')
  if (existsSync(docPath)) {
    const doc = readDocTable(readFileSync(docPath, 'utf8'))
    problems.push(...doc.problems)
    if (doc.table) problems.push(...compareTables(doc.table))
  } else problems.push('docs/architecture.md is missing: it holds the rooms table')

  const rooms = new Map() // room -> Map(room -> "file -> file")
  const filesByRoom = new Map() // room -> Map(file -> Map(file -> true)): imports inside the room
  const { imports, depsReaders } = readImports(root)
  problems.push(...depsProblems(root, depsReaders))
  for (const { from, to } of imports) {
    const [fromRoom, toRoom] = [roomOf(from), roomOf(to)]
    if (fromRoom === toRoom) {
      if (!filesByRoom.has(fromRoom)) filesByRoom.set(fromRoom, new Map())
      addEdge(filesByRoom.get(fromRoom), from, to, true)
    } else addEdge(rooms, fromRoom, toRoom, `${from} -> ${to}`)
  }

  const productRooms = [
    'db',
    ...readdirSync(join(root, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name),
    'src',
  ]
  for (const [from, out] of rooms) {
    const entry = MAY_IMPORT[from]
    if (entry === undefined) {
      problems.push(`room ${from} is not in the table of scripts/check-rooms.mjs`)
      continue
    }
    const allowed = allowedRooms(entry, productRooms)
    for (const [to, example] of out) {
      if (!allowed.has(to)) problems.push(`${from} may not import ${to}: ${example}`)
    }
  }
  for (const component of cycles(rooms)) {
    problems.push(`rooms import each other: ${component.join(', ')}`)
    for (const from of component) {
      for (const [to, example] of rooms.get(from) ?? []) {
        if (component.includes(to)) problems.push(`  ${from} -> ${to}: ${example}`)
      }
    }
  }
  problems.push(...loopProblems(root, filesByRoom))
  return { problems, rooms }
}

/** Each loop of files inside a room but the tolerated ones, and each tolerated loop now gone. */
function loopProblems(root, filesByRoom) {
  const problems = []
  const loops = [...filesByRoom.values()].flatMap((files) =>
    cycles(files).map((component) => ({ component, way: loopThrough(files, component) })),
  )
  const tolerated = (loop, component) => loop.files.join() === component.join()
  for (const { component, way } of loops) {
    if (TOLERATED_LOOPS.some((loop) => tolerated(loop, component))) continue
    problems.push(`files of room ${roomOf(component[0])} import each other: ${way.join(' -> ')}`)
  }
  for (const loop of TOLERATED_LOOPS) {
    const there = loop.files.every((file) => existsSync(join(root, file)))
    if (there && !loops.some(({ component }) => tolerated(loop, component))) {
      problems.push(`the loop of ${loop.files.join(', ')} is gone: delete it from TOLERATED_LOOPS`)
    }
  }
  return problems
}

function main() {
  const args = process.argv.slice(2)
  const root = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(import.meta.dirname, '..'))
  const { problems, rooms } = checkRooms(root)
  if (args.includes('--list')) {
    for (const [from, out] of [...rooms].sort()) console.log(from, '->', [...out.keys()].sort().join(' '))
  }
  if (problems.length > 0) {
    for (const line of problems) console.error(line)
    process.exit(1)
  }
  console.log(
    `rooms: ${rooms.size} rooms, each importing only what the table allows, no cycle between rooms or inside one, src/deps.ts read by no domain room, docs/architecture.md agrees`,
  )
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main()
