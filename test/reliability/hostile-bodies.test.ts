import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import { startHostileClients } from '../helpers/hostile-clients.ts'
import {
  createProcessDatabase,
  type ProcessDatabase,
  type RunningGateway,
  startGateway,
} from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { startThreadUpstream, type ThreadUpstream } from '../helpers/thread-upstream.ts'

/*
 * One user's hostile bodies never slow another user (docs/security.md, "The
 * estimator's cost"). The gateway runs as its own process, and the attackers on
 * a thread of their own, so neither shares the event loop that times the
 * victim: what the victim measures is the gateway's own delay. A latency is
 * only worth comparing on a machine doing nothing else, so this lives in the
 * reliability suite, which runs one file at a time (its CI profile included). While an attacker sends the
 * tokenizer's and the JSON parser's worst bodies up to the body limit, and a
 * user whose quota is spent sends them too, another user's ordinary calls keep
 * their p99 within a few ms of the baseline measured in the same test.
 */
const JWT_SECRET = 'hostile-bodies-test-secret-0123456789abcdef'
const METRICS_TOKEN = 'hostile-bodies-metrics-token-0123456789'
/** Calls timed in each phase, over all rounds: the p99 is the fifteenth slowest. */
const CALLS = 1_500
/** Baseline and attack alternate this many times. */
const ROUNDS = 6
/** The pause after the attack stops or starts, before a phase's calls. */
const SETTLE_MS = 500
/**
 * How far the attack may move the victim's median and p99 (ms over the baseline of the same
 * run). On a quiet machine the p99 moved by +3.5 to +5.6 ms (docs/security.md, "Residual"; at
 * the former read rate of 32 MiB/s, +13.9 and +14.8 ms on PostgreSQL). In CI, right after both
 * test passes (the baseline's median 5.8 ms against 3.3 quiet, 8 major collections in the
 * attack against 0-2), it moved by +15.0 ms: the bound keeps room for that. A stall of the loop,
 * the failure this guards against, moved it by hundreds of ms to seconds.
 */
const MEDIAN_MARGIN = 5
const P99_MARGIN = 25
const BODY_LIMIT = 10 * 1024 * 1024
const CHAT = '/v1/chat/completions'

const ordinary = Buffer.from(
  JSON.stringify({
    model: 'gpt-4o-mini',
    max_tokens: 1,
    messages: [{ role: 'user', content: 'How are you today?' }],
  }),
)

const quantile = (samples: number[], q: number) =>
  [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor(samples.length * q))]!

describe(`hostile bodies against a running gateway (${TEST_DIALECT})`, () => {
  let database: ProcessDatabase
  let db: Database
  let upstream: ThreadUpstream
  const running: RunningGateway[] = []
  let base: string
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    database = await createProcessDatabase()
    upstream = await startThreadUpstream()
    const configFile = join(database.dir, 'hostile.config.ts')
    writeFileSync(
      configFile,
      `export default ${JSON.stringify({
        plans: [
          {
            id: 'small',
            name: 'Small',
            price: 0,
            quotas: {
              requests: 100_000,
              tokens_input: 100_000,
              tokens_output: 1_000_000,
              max_concurrent_requests: 8,
            },
          },
        ],
        billing: { defaultPlanId: 'small' },
        openModels: ['gpt-4o-mini'],
      })}\n`,
    )
    const started = await startGateway(
      {
        DATABASE_URL: database.url,
        JWT_SECRET,
        GATEWAY_CONFIG: configFile,
        UPSTREAM_BASE_URL: upstream.url,
        UPSTREAM_API_KEY: 'sk-upstream-hostile-test',
        LOG_LEVEL: 'warn',
        METRICS_TOKEN,
      },
      running,
    )
    base = started.base
    db = createDb(database.url)
    for (const user of ['victim', 'attacker', 'spent']) {
      tokens[user] = await mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub: user })
    }
    // The spent user: one request opens its period, then its input is marked used up.
    expect((await post('spent', ordinary)).status).toBe(200)
    const sub = await db.db
      .selectFrom('billing_subscription')
      .select('id')
      .where('user_id', '=', 'spent')
      .executeTakeFirstOrThrow()
    await db.db
      .updateTable('billing_quota_counter')
      .set({ tokens_input_used: 100_000 })
      .where('subscription_id', '=', sub.id)
      .execute()
  }, 120_000)

  afterAll(async () => {
    for (const gateway of running.splice(0)) await gateway.stop('SIGKILL')
    await upstream?.close()
    await db?.close()
    await database?.drop()
  })

  async function post(user: string, body: Buffer) {
    const response = await fetch(`${base}${CHAT}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' },
      body,
    })
    await response.arrayBuffer()
    return response
  }

  async function victimRun(calls: number) {
    const samples: number[] = []
    for (let i = 0; i < calls; i++) {
      const start = performance.now()
      const response = await post('victim', ordinary)
      expect(response.status).toBe(200)
      samples.push(performance.now() - start)
    }
    return samples
  }

  /**
   * The gateway's own view since the last scrape, from its /metrics (prom-client): the event
   * loop's delay (the histogram resets on each scrape), and its garbage collections so far.
   */
  async function gatewayView() {
    const response = await fetch(`${base}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    const text = await response.text()
    const value = (line: string) => {
      const found = text.split('\n').find((l) => l.startsWith(`${line} `))
      return found === undefined ? 0 : Number(found.slice(line.length + 1))
    }
    return {
      loopMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
      majorGcs: value('nodejs_gc_duration_seconds_count{kind="major"}'),
      majorGcMs: value('nodejs_gc_duration_seconds_sum{kind="major"}') * 1000,
    }
  }

  /** One phase's calls, over its rounds, and what the gateway went through meanwhile. */
  class Phase {
    samples: number[] = []
    loopMaxMs = 0
    majorGcs = 0
    majorGcMs = 0

    async run(calls: number) {
      const before = await gatewayView()
      this.samples.push(...(await victimRun(calls)))
      const after = await gatewayView()
      this.loopMaxMs = Math.max(this.loopMaxMs, after.loopMaxMs)
      this.majorGcs += after.majorGcs - before.majorGcs
      this.majorGcMs += after.majorGcMs - before.majorGcMs
    }

    summary() {
      const ms = (value: number) => Number(value.toFixed(2))
      return {
        p50: ms(quantile(this.samples, 0.5)),
        p99: ms(quantile(this.samples, 0.99)),
        max: ms(Math.max(...this.samples)),
        gatewayLoopMaxMs: ms(this.loopMaxMs),
        majorGcs: this.majorGcs,
        majorGcMs: ms(this.majorGcMs),
      }
    }
  }

  it("keeps another user's p99 within a few ms of its baseline", async () => {
    await victimRun(30) // warm
    const attack = await startHostileClients({
      base,
      bodyLimit: BODY_LIMIT,
      bytesPerSecond: 25_000_000,
      users: [
        { user: 'attacker', token: tokens.attacker!, connections: 6 },
        { user: 'spent', token: tokens.spent!, connections: 4 },
      ],
    })
    // Baseline and attack alternate, so that whatever else the machine does in those seconds
    // falls on both alike.
    async function measure() {
      const baseline = new Phase()
      const underAttack = new Phase()
      for (let round = 0; round < ROUNDS; round++) {
        await attack.pause()
        // What the gateway still does for the aborted uploads is over before the baseline's calls.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
        await baseline.run(CALLS / ROUNDS)
        await attack.resume()
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
        await underAttack.run(CALLS / ROUNDS)
      }
      const measured = { baseline: baseline.summary(), underAttack: underAttack.summary() }
      const { p50, p99 } = measured.baseline
      const holds =
        measured.underAttack.p50 < p50 + MEDIAN_MARGIN &&
        measured.underAttack.p99 < p99 + P99_MARGIN
      return { ...measured, holds }
    }
    // The median call barely notices the attack, and the slowest 1 % meets only what is left of
    // the tail (docs/security.md, "Residual"): a core busy with the attack's share, now and then a
    // collection of the gateway's heap. A tail on two shared cores is noisy, so a measurement over
    // the bounds is taken once more, and the bounds must hold in one of the two: a stall of the
    // loop, what this guards against, breaks both (before the estimator's bounds this test never
    // finished: a 46 ms call took 16 s).
    const measurements = [await measure()]
    if (!measurements[0]!.holds) measurements.push(await measure())
    const { attacker, spent } = await attack.stop()
    const numbers = {
      measurements,
      attacker: { requests: attacker!.statuses.length, statuses: [...new Set(attacker!.statuses)] },
      spent: {
        requests: spent!.statuses.length,
        statuses: [...new Set(spent!.statuses)],
        p50Ms: quantile(spent!.ms, 0.5).toFixed(2),
      },
    }
    console.log(`hostile bodies (${TEST_DIALECT}): ${JSON.stringify(numbers)}`)
    // The spent user is refused, never served (0: the refusal closed the connection under the upload).
    expect(spent!.statuses).toContain(429)
    expect(spent!.statuses.every((status) => status === 429 || status === 0)).toBe(true)
    // The attacker's bodies were really sent and answered.
    expect(attacker!.statuses.length).toBeGreaterThanOrEqual(6)
    expect(measurements.at(-1)!.holds, JSON.stringify(numbers)).toBe(true)
  }, 300_000)
})
