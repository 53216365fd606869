import autocannon from 'autocannon'
import { percentile } from '../proc/stats.ts'

export interface LoadJob {
  url: string
  connections: number
  durationS: number
  headers: Record<string, string>
  /** When given, each connection cycles through these header sets (one per user). */
  headerSets?: Array<Record<string, string>>
  body: string
}

export interface LoadResult {
  ok: number
  errors: number
  statuses: Record<string, number>
  durationS: number
  rps: number
  p50: number
  p99: number
  mean: number
}

/**
 * Closed-loop load with autocannon. Latencies come from its per-response event (float ms from
 * process.hrtime), because its own histogram keeps whole milliseconds, too coarse to see a
 * gateway's sub-millisecond overhead at one connection.
 */
export function runAutocannon(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let ok = 0
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.durationS,
        method: 'POST',
        headers: job.headers,
        body: job.body,
        ...(job.headerSets
          ? {
              requests: job.headerSets.map((headers) => ({
                method: 'POST',
                headers,
                body: job.body,
              })),
            }
          : {}),
        timeout: 30,
      },
      (error, result) => {
        if (error) return reject(error)
        latencies.sort((a, b) => a - b)
        // autocannon's `errors` already counts timeouts; non-2xx answers come on top.
        const errors = result.errors + (Object.values(statuses).reduce((a, b) => a + b, 0) - ok)
        resolve({
          ok,
          errors,
          statuses,
          durationS: result.duration,
          rps: ok / result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
        })
      },
    )
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1
      if (status >= 200 && status < 300) {
        ok++
        latencies.push(ms)
      }
    })
  })
}
