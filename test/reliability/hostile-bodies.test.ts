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
/** Calls timed in each phase: the p99 is the fifth slowest. */
const CALLS = 500
/**
 * How far the attack may move the victim's median and p99 (ms over the baseline of the same
 * run). Before the upload turns the attack moved the p99 by +10 ms on SQLite, +10 to +28 ms on
 * PostgreSQL, on a quiet machine; docs/reliability.md has the measurements since. The p99's
 * bound keeps room over the largest move measured quiet since (PostgreSQL, +38 ms): a stall of
 * the loop, the failure this guards against, moved it by seconds.
 */
const MEDIAN_MARGIN = 5
const P99_MARGIN = 60
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
   * The gateway's own view of a phase, from its /metrics (prom-client): the event loop's delay
   * since the last scrape (the histogram resets on each), and its garbage collections.
   */
  async function gatewayPhase() {
    const response = await fetch(`${base}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    const text = await response.text()
    const value = (line: string) => {
      const found = text.split('\n').find((l) => l.startsWith(`${line} `))
      return found === undefined ? Number.NaN : Number(found.slice(line.length + 1))
    }
    return {
      loopP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
      loopMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
      majorGcs: value('nodejs_gc_duration_seconds_count{kind="major"}'),
      majorGcMs: value('nodejs_gc_duration_seconds_sum{kind="major"}') * 1000,
    }
  }

  function phase(samples: number[], before: GatewayPhase, after: GatewayPhase) {
    return {
      p50: Number(quantile(samples, 0.5).toFixed(2)),
      p99: Number(quantile(samples, 0.99).toFixed(2)),
      max: Number(Math.max(...samples).toFixed(2)),
      gatewayLoopP99Ms: Number(after.loopP99Ms.toFixed(2)),
      gatewayLoopMaxMs: Number(after.loopMaxMs.toFixed(2)),
      majorGcs: (after.majorGcs || 0) - (before.majorGcs || 0),
      majorGcMs: Number(((after.majorGcMs || 0) - (before.majorGcMs || 0)).toFixed(1)),
    }
  }
  type GatewayPhase = Awaited<ReturnType<typeof gatewayPhase>>

  it("keeps another user's p99 within a few ms of its baseline", async () => {
    await victimRun(30) // warm
    const start = await gatewayPhase()
    const baseline = await victimRun(CALLS)
    const afterBaseline = await gatewayPhase()
    const attack = await startHostileClients({
      base,
      bodyLimit: BODY_LIMIT,
      bytesPerSecond: 25_000_000,
      users: [
        { user: 'attacker', token: tokens.attacker!, connections: 6 },
        { user: 'spent', token: tokens.spent!, connections: 4 },
      ],
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const attackStart = await gatewayPhase()
    const underAttack = await victimRun(CALLS)
    const afterAttack = await gatewayPhase()
    const { attacker, spent } = await attack.stop()
    const numbers = {
      baseline: phase(baseline, start, afterBaseline),
      underAttack: phase(underAttack, attackStart, afterAttack),
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
    // The median call barely notices the attack. The slowest 1 % meets what is left of the tail
    // (docs/security.md, "Residual"): a major collection of the gateway's heap, a ledger batch
    // shared with the attacker's asks, a core busy with the uploads. The margins leave room for
    // CI; before the estimator's bounds this test never finished (a 46 ms call took 16 s).
    expect(quantile(underAttack, 0.5), JSON.stringify(numbers)).toBeLessThan(
      quantile(baseline, 0.5) + MEDIAN_MARGIN,
    )
    expect(quantile(underAttack, 0.99), JSON.stringify(numbers)).toBeLessThan(
      quantile(baseline, 0.99) + P99_MARGIN,
    )
  }, 300_000)
})
