#!/usr/bin/env node
// The rooms of src/ (docs/architecture.md) import only the rooms below them, as the table
// MAY_IMPORT says, and never in a circle: for every pair of folders, imports go one way only.
// Run by `npm run check`; prints each import the table does not allow and each cycle found;
// `--list` prints which rooms each room imports today.
// A folder is a room (src/ledger, src/web/pages counts as src/web); files at the top of src/
// (the entries, deps.ts, app.ts) form the room "src". Type-only imports (`import type`,
// erased at run time) count too, except those of src/deps.ts: Deps names every room's
// services, so that one file is read by all (it imports types only, builds nothing).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const src = join(root, 'src')
const typesHub = join(src, 'deps.ts')

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (/\.tsx?$/.test(name)) yield path
  }
}

/** What each room may import (besides itself, db/ and packages): docs/architecture.md, Rooms. */
const BELOW = ['config', 'lib']
const MAY_IMPORT = {
  lib: [],
  config: ['lib'],
  yookassa: ['lib'],
  auth: BELOW,
  ledger: BELOW,
  billing: ['ledger', ...BELOW],
  payments: ['billing', 'ledger', 'auth', 'yookassa', ...BELOW],
  http: ['auth', 'yookassa', ...BELOW],
  pipeline: ['http', 'billing', 'ledger', 'auth', ...BELOW],
  cli: ['payments', 'billing', 'ledger', 'auth', ...BELOW],
  routes: ['pipeline', 'http', 'payments', 'billing', 'ledger', 'auth', 'yookassa', ...BELOW],
  web: ['routes', 'pipeline', 'http', 'payments', 'billing', 'ledger', 'auth', ...BELOW],
  // The entries (main, cli, boot, app, scheduler, start-gateway) and the demo build everything.
  src: '*',
  demo: '*',
}

const room = (file) => {
  const parts = relative(src, file).split('/')
  return parts.length === 1 ? 'src' : parts[0]
}

/** `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`: the path is group 1. */
const IMPORT = /(?:^\s*(?:import|export)\s[^'"]*?from\s*|^\s*import\s*|\bimport\(\s*)['"](\.[^'"]+)['"]/gm
const edges = new Map() // room -> Map(room -> example "file -> file")
for (const file of files(src)) {
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = resolve(dirname(file), match[1])
    if (!target.startsWith(`${src}/`)) continue // db/ and packages stand below every room
    if (target === typesHub) continue
    const [from, to] = [room(file), room(target)]
    if (from === to) continue
    if (!edges.has(from)) edges.set(from, new Map())
    const out = edges.get(from)
    if (!out.has(to)) out.set(to, `${relative(root, file)} -> ${relative(root, target)}`)
  }
}

// Every cycle shows up as a strongly connected component of more than one room (Tarjan).
let index = 0
const stack = []
const state = new Map()
const components = []
function visit(v) {
  state.set(v, { index, low: index, onStack: true })
  index++
  stack.push(v)
  for (const w of edges.get(v)?.keys() ?? []) {
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
    if (component.length > 1) components.push(component)
  }
}
for (const v of edges.keys()) if (!state.has(v)) visit(v)

const refused = []
for (const [from, out] of edges) {
  const allowed = MAY_IMPORT[from]
  for (const [to, example] of out) {
    if (allowed === '*' || allowed?.includes(to)) continue
    refused.push(`${from} may not import ${to}: ${example}`)
  }
}
for (const line of refused) console.error(line)

if (process.argv.includes('--list')) for (const [from, out] of [...edges].sort()) console.log(from, "->", [...out.keys()].sort().join(" "))
if (components.length === 0 && refused.length === 0) {
  console.log(`rooms: ${edges.size} rooms, each importing only the rooms below it, no cycle`)
  process.exit(0)
}
for (const component of components) {
  console.error(`rooms import each other: ${component.sort().join(', ')}`)
  for (const from of component) {
    for (const [to, example] of edges.get(from) ?? []) {
      if (component.includes(to)) console.error(`  ${from} -> ${to}: ${example}`)
    }
  }
}
process.exit(1)
