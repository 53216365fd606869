import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * CPU µs per request by part of the gateway, from a `npm run bench:profile` profile: each
 * sample's self time in the load window, its function put in a part by where it comes from
 * (the bundle's functions through its source map to their src/ module; packages by their
 * node_modules folder; V8's natives by their caller), divided by the requests served.
 * `npx tsx bench/report/profile-parts.ts <file.cpuprofile> <window from s> <to s> <requests> [cpu µs]`
 * (bench:profile prints the window, the requests and the CPU µs a request measured from /proc).
 * A sample lasts until the next one in wall time, so on a loaded machine the samples add up to
 * more than the CPU used (the thread also waited for a core): given the measured CPU µs a
 * request, each part is also shown scaled to it (its share of the samples times that CPU).
 */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const [file, fromS, toS, requests, measuredCpu] = process.argv.slice(2)
if (!file || !fromS || !toS || !requests) {
  throw new Error('usage: profile-parts.ts <file.cpuprofile> <from s> <to s> <requests>')
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const parent = new Map<number, number>()
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id)
const byId = new Map(profile.nodes.map((node) => [node.id, node]))

const maps = new Map<string, SourceMap | null>()
function sourceOf(url: string, line: number, column: number): string {
  if (!url.endsWith('/dist/main.js')) return url
  let map = maps.get(url)
  if (map === undefined) {
    const path = fileURLToPath(url)
    const payload = JSON.parse(readFileSync(`${path}.map`, 'utf8'))
    map = new SourceMap(payload)
    maps.set(url, map)
  }
  const entry = map?.findEntry(line, column) as { originalSource?: string } | undefined
  return entry?.originalSource ? resolve(dirname(fileURLToPath(url)), entry.originalSource) : url
}

/** The part a source belongs to; null for V8's natives (they take their caller's part). */
function partOf(source: string): string | null {
  const parts: Array<[RegExp, string]> = [
    [
      /node_modules\/better-sqlite3\//,
      'ledger SQL: better-sqlite3 (the transaction, BEGIN and COMMIT)',
    ],
    [/node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+)\//, 'ledger SQL: pg driver'],
    [/node_modules\/kysely\//, 'kysely'],
    [/node_modules\/(hono|@hono)\//, 'HTTP: hono'],
    [/node_modules\/undici\//, 'upstream: undici'],
    [/node_modules\/gpt-tokenizer\//, 'tokenizer'],
    [/node_modules\/(pino|sonic-boom|thread-stream|pino-std-serializers)/, 'logs: pino'],
    [/node_modules\/prom-client\//, 'metrics: prom-client'],
    [/node_modules\/(zod|@hono\/zod-validator)\//, 'zod'],
    [/node_modules\/jose\//, 'auth: jose'],
    [/node_modules\/uuid/, 'ids: uuid'],
    [/\/src\/ledger\//, 'ledger: its JavaScript'],
    [/\/src\/pipeline\/(stream|meter)/, 'pipeline: stream and meter'],
    [/\/src\/pipeline\//, 'pipeline: other stages'],
    [/\/src\//, 'gateway: other src'],
    [/^node:|internal\//, 'node: http, net, streams, timers'],
    [/node_modules\//, 'other packages'],
  ]
  for (const [pattern, part] of parts) if (pattern.test(source)) return part
  return null
}

/** The ledger's raw statements run inside `rows` (store.sqlite.ts): SQLite's C is its self time. */
const SQLITE_STATEMENTS = 'ledger SQL: SQLite statements (store.sqlite.ts rows)'

function partOfNode(node: ProfileNode): string | null {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame
  if (functionName === 'rows' && url.endsWith('/dist/main.js')) {
    if (sourceOf(url, lineNumber, columnNumber).endsWith('/src/ledger/store.sqlite.ts')) {
      return SQLITE_STATEMENTS
    }
  }
  if (functionName === '(idle)' || functionName === '(root)') return null
  if (functionName === '(garbage collector)') return 'GC'
  if (functionName === '(program)') return 'V8: (program), unattributed'
  if (!url && (functionName === 'parse' || functionName === 'stringify')) return 'JSON'
  let current: ProfileNode | undefined = node
  while (current) {
    const frame = current.callFrame
    if (frame.url) {
      const part = partOf(sourceOf(frame.url, frame.lineNumber, frame.columnNumber))
      if (part) {
        return part
      }
    }
    const up = parent.get(current.id)
    current = up === undefined ? undefined : byId.get(up)
  }
  return `unattributed: ${functionName || '(anonymous)'} ${url}:${lineNumber}:${columnNumber}`
}

const from = profile.startTime + Number(fromS) * 1e6
const to = profile.startTime + Number(toS) * 1e6
const micros = new Map<string, number>()
const cache = new Map<number, string | null>()
let t = profile.startTime
for (const [i, id] of profile.samples.entries()) {
  t += profile.timeDeltas[i] ?? 0
  if (t < from || t > to) continue
  const delta = profile.timeDeltas[i + 1] ?? 0
  let part = cache.get(id)
  if (part === undefined) {
    part = partOfNode(byId.get(id)!)
    cache.set(id, part)
  }
  if (part === null) continue
  micros.set(part, (micros.get(part) ?? 0) + delta)
}
const n = Number(requests)
const rows = [...micros].sort((a, b) => b[1] - a[1])
const total = rows.reduce((sum, [, us]) => sum + us, 0)
const scale = measuredCpu ? Number(measuredCpu) / (total / n) : undefined
const micro = (us: number) => (us / n).toFixed(1).padStart(7)
const scaled = (us: number) => (scale ? micro(us * scale) : '')
process.stdout.write(`sampled ${scale ? ' scaled ' : ''}  share  part (µs a request)\n`)
for (const [part, us] of rows) {
  if (us / n < 0.5) continue
  const share = `${((100 * us) / total).toFixed(1)} %`.padStart(6)
  process.stdout.write(`${micro(us)} ${scaled(us)} ${share}  ${part}\n`)
}
process.stdout.write(`${micro(total)} ${scaled(total)}         busy (${n} requests)\n`)
