import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ROOT } from './processes.ts'
import { createSourceLines } from './source-lines.ts'

/**
 * Sums a V8 .cpuprofile (node --cpu-prof) by function, by file and by package: self time (the
 * function itself was on top of the stack) and, for the project's own functions, inclusive
 * time (on the stack at all), which is what a fix in src/ can remove.
 * CLI: tsx bench/cpuprofile-summary.ts FILE [--from <µs> --to <µs>] [--top N]
 */
interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Entry {
  key: string
  ms: number
  pct: number
}

export interface ProfileSummary {
  totalMs: number
  windowMs: number
  selfByFunction: Entry[]
  selfByFile: Entry[]
  selfByPackage: Entry[]
  inclusiveProject: Entry[]
  /** For the top self-time functions: the nearest project frames under which they ran. */
  callers: Array<{ fn: string; ms: number; from: Entry[] }>
}

/** A window in the profile's clock (µs, CLOCK_MONOTONIC like process.hrtime). */
export interface Window {
  fromUs: number
  toUs: number
}

function shortUrl(url: string): string {
  if (!url) return ''
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path
}

function packageOf(url: string): string {
  const path = shortUrl(url)
  if (!path) return '(native / V8)'
  if (path.startsWith('node:')) return 'node (core)'
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (match) return match[1]!
  return path.split('/').slice(0, 2).join('/')
}

export function summarizeProfile(profile: CpuProfile, window?: Window, top = 30): ProfileSummary {
  const lines = createSourceLines()
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)

  const labels = new Map<number, { fn: string; file: string; pkg: string; project: boolean }>()
  const label = (node: ProfileNode) => {
    let known = labels.get(node.id)
    if (known) return known
    const { functionName, url, lineNumber, columnNumber } = node.callFrame
    const file = shortUrl(url)
    const project = /^(src|db)\//.test(file)
    const path = url.startsWith('file://') ? fileURLToPath(url) : url
    const line = project
      ? (lines.lineOf(path, lineNumber, columnNumber) ?? lineNumber + 1)
      : lineNumber + 1
    const name = functionName || '(anonymous)'
    known = {
      fn: file ? `${name} ${file}:${line}` : name,
      file: file || name,
      pkg: packageOf(url),
      project,
    }
    labels.set(node.id, known)
    return known
  }

  const self = {
    fn: new Map<string, number>(),
    file: new Map<string, number>(),
    pkg: new Map<string, number>(),
  }
  const inclusive = new Map<string, number>()
  // After an await the stack holds no project frame; the library frames below say who it was.
  const callerChain = (id: number) => {
    const names: string[] = []
    for (let at = parent.get(id); at !== undefined && names.length < 3; at = parent.get(at)) {
      const fn = label(byId.get(at)!).fn
      if (!fn.startsWith('(root)')) names.push(fn)
    }
    return names.length > 0 ? `< ${names.join(' < ')}` : ''
  }
  // self function -> nearest project frame on its stack -> µs
  const nearest = new Map<string, Map<string, number>>()
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us)
  let at = profile.startTime
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    if (window && (at < window.fromUs || at > window.toUs)) continue
    const us = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(profile.samples[i]!)
    if (!node) continue
    total += us
    const l = label(node)
    add(self.fn, l.fn, us)
    add(self.file, l.file, us)
    add(self.pkg, l.pkg, us)
    const seen = new Set<string>()
    let first: string | undefined
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = label(byId.get(id)!)
      if (frame.project && !seen.has(frame.fn)) {
        seen.add(frame.fn)
        first ??= frame.fn
        add(inclusive, frame.fn, us)
      }
    }
    const from = nearest.get(l.fn) ?? new Map<string, number>()
    nearest.set(l.fn, from)
    add(from, first ?? `(async, no project frame) ${callerChain(node.id)}`, us)
  }
  const rank = (map: Map<string, number>): Entry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => ({ key, ms: us / 1000, pct: (us / Math.max(1, total)) * 100 }))
  const selfByFunction = rank(self.fn)
  const callers = selfByFunction.slice(0, 15).map((entry) => ({
    fn: entry.key,
    ms: entry.ms,
    from: rank(nearest.get(entry.key) ?? new Map()).slice(0, 4),
  }))
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    windowMs: total / 1000,
    selfByFunction,
    selfByFile: rank(self.file),
    selfByPackage: rank(self.pkg),
    inclusiveProject: rank(inclusive),
    callers,
  }
}

export function formatSummary(summary: ProfileSummary): string {
  const section = (title: string, entries: Entry[]) =>
    [
      `${title}`,
      ...entries.map(
        (e) => `${e.pct.toFixed(1).padStart(6)} %  ${e.ms.toFixed(0).padStart(7)} ms  ${e.key}`,
      ),
    ].join('\n')
  return [
    `profile: ${summary.totalMs.toFixed(0)} ms recorded, ${summary.windowMs.toFixed(0)} ms of samples in the window`,
    section('self time by function:', summary.selfByFunction),
    section('self time by package:', summary.selfByPackage),
    section('self time by file:', summary.selfByFile),
    section('inclusive time of project functions (src/, db/):', summary.inclusiveProject),
    [
      'top self-time functions, by the nearest project frame on their stack:',
      ...summary.callers.flatMap((c) => [
        `  ${c.ms.toFixed(0)} ms  ${c.fn}`,
        ...c.from.map((f) => `      ${f.ms.toFixed(0).padStart(6)} ms  ${f.key}`),
      ]),
    ].join('\n'),
  ].join('\n\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const option = (name: string) => {
    const at = args.indexOf(name)
    return at === -1 ? undefined : Number(args[at + 1])
  }
  const profile = JSON.parse(readFileSync(args[0]!, 'utf8')) as CpuProfile
  const from = option('--from')
  const to = option('--to')
  const window = from !== undefined && to !== undefined ? { fromUs: from, toUs: to } : undefined
  process.stdout.write(
    `${formatSummary(summarizeProfile(profile, window, option('--top') ?? 30))}\n`,
  )
}
