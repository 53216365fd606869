import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { percentile } from '../proc/stats.ts'

export interface StreamJob {
  url: string
  concurrency: number
  durationS: number
  /** Stop after this many requests even before durationS (the paced check needs only a few). */
  maxRequests?: number
  headers: Record<string, string>
  body: string
}

export interface StreamResult {
  ok: number
  errors: number
  firstError?: string
  durationS: number
  rps: number
  ttfbP50: number
  ttfbP99: number
  ttlbP50: number
  ttlbP99: number
  /** Body reads per response: 1 means the proxy delivered the whole stream at once. */
  readsP50: number
  /** SSE events (`data:` lines) per response. */
  eventsP50: number
  /** Longest wait between two reads of one response, median over responses. */
  maxGapP50: number
}

const DONE = Buffer.from('data: [DONE]')
const DATA = Buffer.from('data:')

function countEvents(chunk: Buffer): number {
  let count = 0
  for (let at = chunk.indexOf(DATA); at !== -1; at = chunk.indexOf(DATA, at + DATA.length)) count++
  return count
}

/**
 * Streaming chat driven by undici, because autocannon only sees whole responses: time to first
 * byte is the first body chunk (not the headers, which a proxy can send before any token), time
 * to last byte is the end of the body. A response counts only when it is 200 and ends in [DONE].
 */
export async function runStream(job: StreamJob): Promise<StreamResult> {
  const target = new URL(job.url)
  const pool = new Pool(target.origin, { connections: job.concurrency, pipelining: 1 })
  const ttfb: number[] = []
  const ttlb: number[] = []
  const reads: number[] = []
  const events: number[] = []
  const maxGaps: number[] = []
  let errors = 0
  let started = 0
  let firstError: string | undefined
  const begin = performance.now()
  const deadline = begin + job.durationS * 1000

  async function once(): Promise<void> {
    const t0 = performance.now()
    const res = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: job.headers,
      body: job.body,
    })
    let first = 0
    let last = t0
    let count = 0
    let sse = 0
    let maxGap = 0
    let tail = Buffer.alloc(0)
    for await (const part of res.body as AsyncIterable<Buffer>) {
      const now = performance.now()
      if (first === 0) first = now
      else maxGap = Math.max(maxGap, now - last)
      last = now
      count++
      sse += countEvents(part)
      tail = Buffer.concat([tail, part]).subarray(-64)
    }
    if (res.statusCode !== 200 || tail.indexOf(DONE) === -1) {
      throw new Error(`status ${res.statusCode}, ends with ${JSON.stringify(tail.toString())}`)
    }
    ttfb.push(first - t0)
    ttlb.push(performance.now() - t0)
    reads.push(count)
    events.push(sse)
    maxGaps.push(maxGap)
  }

  async function worker(): Promise<void> {
    while (
      performance.now() < deadline &&
      (job.maxRequests === undefined || started < job.maxRequests)
    ) {
      started++
      await once().catch((error: Error) => {
        errors++
        firstError ??= error.message
      })
    }
  }

  await Promise.all(Array.from({ length: job.concurrency }, worker))
  const durationS = (performance.now() - begin) / 1000
  await pool.close()
  for (const list of [ttfb, ttlb, reads, events, maxGaps]) list.sort((a, b) => a - b)
  return {
    ok: ttfb.length,
    errors,
    firstError,
    durationS,
    rps: ttfb.length / durationS,
    ttfbP50: percentile(ttfb, 50),
    ttfbP99: percentile(ttfb, 99),
    ttlbP50: percentile(ttlb, 50),
    ttlbP99: percentile(ttlb, 99),
    readsP50: percentile(reads, 50),
    eventsP50: percentile(events, 50),
    maxGapP50: percentile(maxGaps, 50),
  }
}
