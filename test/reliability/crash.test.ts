import { afterEach, describe, expect, it } from 'vitest'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import {
  type Cluster,
  planConfig,
  send,
  sleep,
  startCluster,
  untilNothingReserved,
} from './cluster.ts'

/**
 * A replica dies with 100 streams open (kill -9), or stops gracefully
 * (SIGTERM) with streams open, while a second replica lives on the same
 * database. The fake upstream holds the streams open after their first chunk.
 */
const STREAMS = 100
const RESERVE = 500
/** A beat every 200 ms, dead 1 s after the last (so the sweep comes within seconds); RESERVE output tokens a stream. */
const QUICK_SWEEP = {
  heartbeatIntervalMs: 200,
  ownerDeadAfterSeconds: 1,
  defaultOutputReserve: RESERVE,
}

describe(`reliability: a replica dies with streams open (${TEST_DIALECT})`, () => {
  let cluster: Cluster | undefined
  afterEach(async () => {
    await cluster?.close()
    cluster = undefined
  })

  async function openStreams(base: string, token: string, count: number) {
    const responses = await Promise.all(
      Array.from({ length: count }, () => send(base, token, { stream: true })),
    )
    // Each client reads its first chunk, then waits on the rest.
    return Promise.all(
      responses.map(async (response) => {
        const reader = response.body!.getReader()
        const first = await reader.read()
        const rest = (async () => {
          let text = new TextDecoder().decode(first.value)
          try {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) return { status: response.status, text, cut: false }
              text += new TextDecoder().decode(value)
            }
          } catch (error) {
            return { status: response.status, text, cut: true, error: String(error) }
          }
        })()
        return { status: response.status, rest }
      }),
    )
  }

  it('kill -9 with 100 streams open: clients see a cut connection, the survivor bills what was sent as estimated; the audit holds', async () => {
    cluster = await startCluster(
      planConfig(
        { requests: 10_000 },
        {
          quota: QUICK_SWEEP,
        },
      ),
      2,
    )
    const [doomed, survivor] = cluster.replicas as [Cluster['replicas'][0], Cluster['replicas'][0]]
    cluster.upstream.behave({ chunks: 4, hangAfterChunks: 1 })
    const token = await cluster.token('crash')
    const streams = await openStreams(doomed.base, token, STREAMS)
    expect(streams.every((s) => s.status === 200)).toBe(true)
    expect(cluster.upstream.requests).toHaveLength(STREAMS)

    doomed.gateway.child.kill('SIGKILL')
    await doomed.gateway.exited
    const killedAt = Date.now()
    const ends = await Promise.all(streams.map((s) => s.rest))
    expect(ends.filter((e) => e.cut).length, JSON.stringify(ends[0])).toBe(STREAMS)

    await untilNothingReserved(cluster.db, 30_000)
    const sweptMs = Date.now() - killedAt
    const report = await audit(cluster.db.db, {
      served: { requests: STREAMS, tokens_input: 0, tokens_output: 0 },
    })
    expect(report.violations, survivor.gateway.output().slice(-2000)).toEqual([])
    // Billed as estimated: the output reserve of each (the upstream's usage died with the process).
    expect(report.billed.tokens_output).toBe(STREAMS * RESERVE)
    process.stdout.write(
      `[reliability kill -9 ${TEST_DIALECT}] ${STREAMS} streams cut; swept ${sweptMs} ms after the kill; billed ${report.billed.requests} requests, ${report.billed.tokens_output} output tokens (estimated); audit ok\n`,
    )
  }, 240_000)

  it('SIGTERM with streams open: those that end within the grace time finish, the rest are settled; the audit holds', async () => {
    cluster = await startCluster(
      planConfig(
        { requests: 10_000 },
        {
          quota: QUICK_SWEEP,
          server: { shutdownGraceMs: 3_000 },
        },
      ),
      2,
    )
    const [stopping] = cluster.replicas as [Cluster['replicas'][0]]
    const token = await cluster.token('graceful')
    // 20 streams that finish in about 1 s (10 chunks, 100 ms apart), then 20 held open.
    cluster.upstream.behave({ chunks: 10, chunkDelayMs: 100 })
    const finishing = await openStreams(stopping.base, token, 20)
    cluster.upstream.behave({ chunks: 4, hangAfterChunks: 1 })
    const held = await openStreams(stopping.base, token, 20)
    const signalledAt = Date.now()
    stopping.gateway.child.kill('SIGTERM')

    const finished = await Promise.all(finishing.map((s) => s.rest))
    expect(
      finished.every((e) => !e.cut && e.text.includes('[DONE]')),
      JSON.stringify(finished[0]),
    ).toBe(true)
    const heldEnds = await Promise.all(held.map((s) => s.rest))
    const cutAfterMs = Date.now() - signalledAt
    expect(heldEnds.every((e) => e.cut || !e.text.includes('[DONE]'))).toBe(true)
    expect(cutAfterMs).toBeLessThan(3_000 + 10_000)
    const code = await stopping.gateway.exited

    await untilNothingReserved(cluster.db, 30_000)
    const report = await audit(cluster.db.db, {
      served: { requests: 40, tokens_input: 20 * 12, tokens_output: 20 * 7 },
    })
    expect(report.violations, stopping.gateway.output().slice(-2000)).toEqual([])
    process.stdout.write(
      `[reliability SIGTERM ${TEST_DIALECT}] 20 streams finished, 20 held cut ${cutAfterMs} ms after SIGTERM (grace 3000 ms), exit ${code}; billed ${report.billed.requests} requests; audit ok\n`,
    )
    await sleep(0)
  }, 240_000)
})
