// autocannon ships no types; this covers the part bench/ac-job.ts uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface Options {
    url: string
    connections?: number
    duration?: number
    amount?: number
    method?: string
    headers?: Record<string, string>
    body?: string | Buffer
    pipelining?: number
    requests?: Array<{ method?: string; headers?: Record<string, string>; body?: string | Buffer }>
    timeout?: number
  }

  interface Result {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    requests: { average: number; total: number }
    latency: { p50: number; p99: number; average: number }
  }

  interface Instance extends EventEmitter {
    stop(): void
  }

  function autocannon(
    options: Options,
    callback: (error: Error | null, result: Result) => void,
  ): Instance
  export default autocannon
}
