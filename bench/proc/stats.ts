import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * Per-process CPU and memory from /proc, read by the orchestrator so the target measures nothing
 * itself (a self-report over IPC would add work to the process under test).
 * utime+stime cover every thread of the process (JS, GC helpers, libuv pool), in clock ticks.
 */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time used so far by pid, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1e6) / TICKS_PER_SECOND
}

/** Resident set size of pid now, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return match ? Number(match[1]) * 1024 : 0
}

export interface RssSampler {
  stop(): number
}

/** Samples RSS every intervalMs and keeps the peak, for the duration of one measured run. */
export function sampleRss(pid: number, intervalMs = 50): RssSampler {
  let peak = rssBytes(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid))
    } catch {
      // the process ended; keep the last peak
    }
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      try {
        peak = Math.max(peak, rssBytes(pid))
      } catch {}
      return peak
    },
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function median(values: number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const mid = finite.length >> 1
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}
