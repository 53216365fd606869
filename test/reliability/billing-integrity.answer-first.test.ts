import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import { type FakeUpstream, sleep, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  startProcess,
  waitForOk,
} from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

const JWT_SECRET = 'answer-first-secret-0123456789abcdef-long'

/**
 * Answer first, settle right after (docs/billing-integrity.md): the client's
 * answer does not wait for the settle's write, and a usage read right after
 * the answer still sees it exact. The settle is held by a lock another
 * connection takes on the database (PostgreSQL: the counter rows FOR UPDATE;
 * SQLite: BEGIN IMMEDIATE on the file). The gateway runs as its own process:
 * better-sqlite3 waits for a lock on the thread, so an in-process gateway
 * would block this test too.
 */
describe(`billing integrity: answer first, settle right after (${TEST_DIALECT})`, () => {
  let database: ProcessDatabase | undefined
  let db: Database | undefined
  let upstream: FakeUpstream | undefined
  let gateway: RunningGateway | undefined
  afterEach(async () => {
    await gateway?.stop('SIGKILL')
    await upstream?.close()
    await db?.close()
    await database?.drop()
    gateway = upstream = db = database = undefined
  })

  async function start() {
    database = await createProcessDatabase()
    upstream = await startFakeUpstream()
    const configFile = join(database.dir, 'answer-first.config.ts')
    writeFileSync(
      configFile,
      `export default ${JSON.stringify({
        plans: [
          {
            id: 'test',
            name: 'Test',
            price: 0,
            quotas: { requests: 100, tokens_input: 100_000, tokens_output: 100_000 },
          },
        ],
        billing: { defaultPlanId: 'test' },
        openModels: ['*'],
        // No job or heartbeat writes while the test holds the database (they would queue too).
        jobs: { enabled: false },
        quota: { heartbeatIntervalMs: 60_000, ownerDeadAfterSeconds: 600 },
      })}\n`,
    )
    const port = await freePort()
    gateway = startProcess('src/main.ts', [], {
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JWT_SECRET,
      GATEWAY_CONFIG: configFile,
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: 'sk-upstream-answer-first',
    })
    const base = `http://127.0.0.1:${port}`
    await waitForOk(`${base}/healthz`, gateway)
    db = createDb(database.url)
    const token = await mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub: 'reader' })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    return { base, headers }
  }

  /**
   * Holds what the settle needs until release() (at most 4 s: SQLite's busy_timeout is 5 s,
   * past which the settle would fail and go to the sweeper's retry).
   */
  async function holdTheSettle() {
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
      setTimeout(resolve, 4_000)
    })
    let holding = false
    let taken = () => {}
    const isTaken = new Promise<void>((resolve) => {
      taken = resolve
    })
    const done = db!.db.connection().execute(async (conn) => {
      if (TEST_DIALECT === 'postgres') {
        await sql`begin`.execute(conn)
        await sql`select * from billing_quota_counter for update`.execute(conn)
      } else {
        await sql`begin immediate`.execute(conn)
      }
      holding = true
      taken()
      await released
      holding = false
      await sql`commit`.execute(conn)
    })
    await isTaken
    return {
      isHeld: () => holding,
      release: async () => {
        release()
        await done
      },
    }
  }

  async function usage(base: string, headers: Record<string, string>, metric: string) {
    const response = await fetch(`${base}/api/v1/billing/usage/${metric}`, { headers })
    expect(response.status).toBe(200)
    return (await response.json()) as { used: number; reserved: number }
  }

  for (const stream of [false, true]) {
    it(`${stream ? 'a stream ends' : 'a JSON answer arrives'} while its settle is held; a usage read right after it is exact`, async () => {
      const { base, headers } = await start()
      // The upstream answers after a pause, long enough for the test to take the lock
      // once the reservation is committed (it is before anything goes upstream).
      upstream!.once({ latencyMs: 300, usage: { input: 12, output: 7 } })
      const call = fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'answer first' }],
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
        }),
      })
      for (let i = 0; i < 250 && upstream!.requests.length === 0; i++) await sleep(10)
      expect(upstream!.requests).toHaveLength(1)
      const lock = await holdTheSettle()

      const response = await call
      expect(response.status).toBe(200)
      const body = await response.text()
      const heldAtAnswer = lock.isHeld()
      // The whole answer (the stream's last event included) arrived while the settle could not be written.
      expect(body).toContain(stream ? 'data: [DONE]' : '"completion_tokens":7')
      expect(heldAtAnswer, 'the answer arrived while the settle was held').toBe(true)

      // Read right after the answer, while the settle is still held: the read waits for it.
      const reads = Promise.all([
        usage(base, headers, 'requests'),
        usage(base, headers, 'tokens_output'),
      ])
      await sleep(300)
      await lock.release()
      const [requests, output] = await reads
      expect(requests).toMatchObject({ used: 1, reserved: 0 })
      expect(output).toMatchObject({ used: 7, reserved: 0 })
      const left = await db!.db.selectFrom('billing_reservation').selectAll().execute()
      expect(left).toHaveLength(0)
    })
  }

  it.skipIf(TEST_DIALECT !== 'postgres')(
    'SIGTERM waits for a held settle before it removes its heartbeat row (PostgreSQL: the row is visible while the lock holds)',
    async () => {
      const { base, headers } = await start()
      upstream!.once({ latencyMs: 300, usage: { input: 12, output: 7 } })
      const call = fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'bye' }],
        }),
      })
      for (let i = 0; i < 250 && upstream!.requests.length === 0; i++) await sleep(10)
      const lock = await holdTheSettle()
      expect((await call).status).toBe(200)
      const instances = () => db!.db.selectFrom('gateway_instance').selectAll().execute()
      expect(await instances()).toHaveLength(1)

      gateway!.child.kill('SIGTERM')
      await sleep(700)
      // The settle is still held: the process must still beat, else another replica's
      // sweeper could bill the reservation as estimated while its owner settles it.
      expect(await instances(), gateway!.output()).toHaveLength(1)
      expect(await db!.db.selectFrom('billing_reservation').selectAll().execute()).toHaveLength(1)
      await lock.release()
      expect(await gateway!.exited, gateway!.output()).toBe(0)
      expect(await instances()).toHaveLength(0)
      const rows = await db!.db
        .selectFrom('billing_quota_counter')
        .select(['tokens_output_used', 'tokens_output_reserved'])
        .execute()
      expect(
        rows.map((r) => [Number(r.tokens_output_used), Number(r.tokens_output_reserved)]),
      ).toEqual([[7, 0]])
    },
  )
})
