import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'

export interface SlowOpenJob {
  url: string
  count: number
  timeoutMs: number
  headers: Record<string, string>
  body: string
}

export interface SlowOpenResult {
  opened: number
  failed: number
  firstError?: string
  openMs: number
}

export interface SlowWaitResult {
  completed: number
  errors: number
  waitMs: number
}

/**
 * Many long-lived streams at once, to measure what one open stream costs the proxy. Opening
 * resolves when every stream has delivered its first chunk (so every one is really flowing
 * through the proxy, not queued), waiting resolves when every stream has ended.
 */
export function createSlowStreams() {
  let pool: Pool | undefined
  let running: Promise<boolean>[] = []

  async function open(job: SlowOpenJob): Promise<SlowOpenResult> {
    const target = new URL(job.url)
    pool = new Pool(target.origin, { connections: job.count, pipelining: 1, bodyTimeout: 0 })
    const begin = performance.now()
    let failed = 0
    let firstError: string | undefined
    const openings: Promise<void>[] = []
    running = Array.from({ length: job.count }, () => {
      let opened: () => void = () => {}
      openings.push(new Promise<void>((resolve) => (opened = resolve)))
      return consume(pool!, target.pathname, job, opened).catch((error: Error) => {
        failed++
        firstError ??= error.message
        opened()
        return false
      })
    })
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, job.timeoutMs).unref())
    await Promise.race([Promise.all(openings), timeout])
    return { opened: job.count - failed, failed, firstError, openMs: performance.now() - begin }
  }

  async function wait(timeoutMs: number): Promise<SlowWaitResult> {
    const begin = performance.now()
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, timeoutMs, 'timeout').unref(),
    )
    const outcome = await Promise.race([Promise.all(running), timeout])
    const results = outcome === 'timeout' ? [] : outcome
    await pool?.destroy()
    pool = undefined
    running = []
    const completed = results.filter(Boolean).length
    return { completed, errors: results.length - completed, waitMs: performance.now() - begin }
  }

  return { open, wait }
}

async function consume(
  pool: Pool,
  path: string,
  job: SlowOpenJob,
  opened: () => void,
): Promise<boolean> {
  const res = await pool.request({ path, method: 'POST', headers: job.headers, body: job.body })
  if (res.statusCode !== 200) {
    const text = await res.body.text()
    throw new Error(`status ${res.statusCode}: ${text.slice(0, 300)}`)
  }
  let tail = ''
  for await (const part of res.body as AsyncIterable<Buffer>) {
    opened()
    tail = (tail + part.toString('utf8')).slice(-64)
  }
  return tail.includes('[DONE]')
}
