import { Agent, request } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import { type Cluster, planConfig, sleep, startCluster, untilNothingReserved } from './cluster.ts'
import { connectInspector, type MemorySample } from './inspector.ts'

/**
 * Soak: one gateway process, SOAK_REQUESTS mixed requests (default 20,000;
 * `npm run test:reliability -- --soak` runs 200,000) from 32 concurrent
 * clients against a fast local fake upstream: JSON and streams, five users,
 * refused ones (a bad token: 401; a malformed body: 400), streams aborted by
 * their client after the first chunk. Memory is read through the inspector
 * after a forced GC, once warmed up and once the load is over: RSS and heap
 * must come back within a bound, and the active handles to where they were.
 */
const TOTAL = Number(process.env.SOAK_REQUESTS ?? 20_000)
const WARMUP = 1_000
const CONCURRENCY = 32
/** Bounds on what may stay after the load: allocator slack and lazily built caches, not leaks. */
const HEAP_BOUND = 16 * 1024 * 1024
const RSS_BOUND = 64 * 1024 * 1024
const RESOURCES_BOUND = 4
/** A memory sample (after a forced GC) every this many requests: the trend of a long soak. */
const PROGRESS_EVERY = 20_000
/** An hour at the least; 55 ms per request beyond (61/s was measured under load: 200,000 in about 3 hours at most). */
const TIMEOUT_MS = Math.max(3_600_000, TOTAL * 55)

type Kind = 'json' | 'stream' | 'aborted' | 'unauthorized' | 'malformed'
/** Out of every 20 requests: 9 JSON, 7 streams, 2 aborted streams, 1 bad token, 1 malformed body. */
const MIX: Kind[] = [
  ...Array<Kind>(9).fill('json'),
  ...Array<Kind>(7).fill('stream'),
  'aborted',
  'aborted',
  'unauthorized',
  'malformed',
]

describe(`reliability: soak (${TEST_DIALECT}, ${TOTAL} requests)`, () => {
  let cluster: Cluster
  afterAll(async () => cluster?.close())

  it(
    'serves the load; memory and handles return to their start; the audit holds',
    async () => {
      cluster = await startCluster(planConfig({ requests: 10_000_000 }), 0)
      const inspectPort = await freePort()
      const replica = await cluster.start({
        NODE_OPTIONS: `--expose-gc --inspect=127.0.0.1:${inspectPort}`,
      })
      const inspector = await connectInspector(inspectPort)
      const tokens = await Promise.all([0, 1, 2, 3, 4].map((i) => cluster.token(`soak${i}`)))
      const dispatcher = new Agent({ connections: CONCURRENCY, pipelining: 1 })
      const counts: Record<string, number> = {}
      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
      let startedAt = Date.now()
      let completed = 0

      async function one(i: number) {
        const kind = MIX[i % MIX.length]!
        const controller = new AbortController()
        const stream = kind === 'stream' || kind === 'aborted'
        const body =
          kind === 'malformed'
            ? '{"model": "gpt-4o-mini", "messages": ['
            : JSON.stringify({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: `soak request ${i}` }],
                stream,
              })
        try {
          const response = await request(`${replica.base}/v1/chat/completions`, {
            method: 'POST',
            dispatcher,
            signal: controller.signal,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${kind === 'unauthorized' ? 'nope' : tokens[i % tokens.length]}`,
            },
            body,
          })
          if (kind === 'aborted') {
            for await (const _ of response.body) break
            controller.abort()
          } else {
            await response.body.text()
          }
          const key = `${kind}:${response.statusCode}`
          counts[key] = (counts[key] ?? 0) + 1
          if ((kind === 'json' || kind === 'stream') && response.statusCode === 200) completed++
        } catch (error) {
          const key = `${kind}:${(error as Error).name}`
          counts[key] = (counts[key] ?? 0) + 1
        }
      }

      async function run(from: number, to: number) {
        let next = from
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < to) await one(next++)
          }),
        )
      }

      /**
       * The load in slices of PROGRESS_EVERY, each followed by a memory sample: a
       * long soak prints its figures as it goes (so a run stopped early still says
       * how far it got and what memory did), and growth shows as a trend.
       */
      async function runWithProgress(from: number, to: number, start: MemorySample) {
        for (let at = from; at < to; at += PROGRESS_EVERY) {
          const until = Math.min(to, at + PROGRESS_EVERY)
          await run(at, until)
          if (until === to) break
          const now = await inspector.sample()
          const seconds = (Date.now() - startedAt) / 1000
          process.stdout.write(
            `[reliability soak ${TEST_DIALECT} progress] ${until} requests, ${seconds.toFixed(0)} s (${((until - WARMUP) / seconds).toFixed(0)}/s): heap ${mb(start.heapUsed)} -> ${mb(now.heapUsed)}, rss ${mb(start.rss)} -> ${mb(now.rss)}, resources ${start.resources} -> ${now.resources}\n`,
          )
        }
      }

      await run(0, WARMUP)
      await untilNothingReserved(cluster.db, 10_000)
      const start = await inspector.sample()
      startedAt = Date.now()
      await runWithProgress(WARMUP, TOTAL, start)
      const seconds = (Date.now() - startedAt) / 1000
      await untilNothingReserved(cluster.db, 30_000)
      await dispatcher.close()
      await sleep(1_000)
      const end = await inspector.sample()
      inspector.close()

      const delta = (key: keyof MemorySample) => end[key] - start[key]
      const line = `[reliability soak ${TEST_DIALECT}] ${TOTAL} requests in ${seconds.toFixed(0)} s (${((TOTAL - WARMUP) / seconds).toFixed(0)}/s): ${JSON.stringify(counts)}; heap ${mb(start.heapUsed)} -> ${mb(end.heapUsed)}, rss ${mb(start.rss)} -> ${mb(end.rss)}, resources ${start.resources} -> ${end.resources}, heap growth per request ${(delta('heapUsed') / (TOTAL - WARMUP)).toFixed(1)} B`
      process.stdout.write(`${line}\n`)

      expect(counts[`unauthorized:401`]).toBe(TOTAL / MIX.length)
      expect(counts[`malformed:400`]).toBe(TOTAL / MIX.length)
      expect(completed).toBe((TOTAL * 16) / MIX.length)
      expect(delta('heapUsed'), line).toBeLessThan(HEAP_BOUND)
      expect(delta('rss'), line).toBeLessThan(RSS_BOUND)
      expect(delta('resources'), line).toBeLessThanOrEqual(RESOURCES_BOUND)

      const served = cluster.upstream.requests.length
      const report = await audit(cluster.db.db, {
        served: { requests: served, tokens_input: completed * 12, tokens_output: completed * 7 },
      })
      expect(report.violations).toEqual([])
    },
    TIMEOUT_MS,
  )
})
