import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import { byMetric, COUNTER_COLUMNS } from '../helpers/counters.ts'
import { type FakeUpstream, sleep, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  type ProcessDatabase,
  type RunningGateway,
  startGateway,
} from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { perMetric } from '../helpers/usage-rows.ts'

const JWT_SECRET = 'crash-test-secret-0123456789abcdef-long'

/**
 * kill -9 of a gateway process with requests in flight, a second process
 * alive on the same database (PostgreSQL, or one SQLite file shared by two
 * processes): the second one's sweeper sees the first stop beating and bills
 * its sent requests as estimated within seconds; nothing stays reserved.
 */
describe(`billing integrity: a crashed gateway process (${TEST_DIALECT})`, () => {
  let database: ProcessDatabase | undefined
  let db: Database | undefined
  let upstream: FakeUpstream | undefined
  const running: RunningGateway[] = []
  afterEach(async () => {
    for (const gateway of running.splice(0)) await gateway.stop('SIGKILL')
    await upstream?.close()
    await db?.close()
    await database?.drop()
    upstream = undefined
    db = undefined
    database = undefined
  })

  const start = (configFile: string) =>
    startGateway(
      {
        DATABASE_URL: database!.url,
        LOG_LEVEL: 'info',
        JWT_SECRET,
        GATEWAY_CONFIG: configFile,
        UPSTREAM_BASE_URL: upstream!.url,
        UPSTREAM_API_KEY: 'sk-upstream-crash-test',
      },
      running,
    )

  it('bills the sent requests of a process killed with -9 as estimated within seconds; nothing stays reserved', async () => {
    database = await createProcessDatabase()
    upstream = await startFakeUpstream()
    upstream.behave({ hang: true })
    const configFile = join(database.dir, 'crash.config.ts')
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
        // Models are granted, never assumed (docs/access.md): this plan may use any.
        openModels: ['*'],
        quota: { heartbeatIntervalMs: 200, ownerDeadAfterSeconds: 1, defaultOutputReserve: 500 },
      })}\n`,
    )
    // One after the other: the first start migrates the empty database.
    const doomed = await start(configFile)
    const survivor = await start(configFile)
    const token = await mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub: 'crash' })

    const inFlight = [false, true, false, true].map((stream, i) =>
      fetch(`${doomed.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `request number ${i}` }],
          stream,
        }),
      }).catch((error: unknown) => error),
    )
    for (let i = 0; i < 500 && upstream.requests.length < 4; i++) await sleep(20)
    expect(upstream.requests.length, doomed.gateway.output()).toBe(4)

    db = createDb(database.url)
    const reservations = () =>
      db!.db.selectFrom('billing_reservation').selectAll().execute() as Promise<
        Array<{ owner: string | null; sent_at: number | null }>
      >
    const held = await reservations()
    expect(held, JSON.stringify(held)).toHaveLength(4)
    expect(held.every((row) => row.owner !== null && row.sent_at !== null)).toBe(true)

    doomed.gateway.child.kill('SIGKILL')
    await doomed.gateway.exited
    const killedAt = Date.now()
    let left = held.length
    while (left > 0 && Date.now() - killedAt < 20_000) {
      await sleep(100)
      left = (await reservations()).length
    }
    const elapsedMs = Date.now() - killedAt
    expect(left, survivor.gateway.output()).toBe(0)
    // ownerDeadAfterSeconds 1 (whole seconds) + a 200 ms heartbeat: about 2 s; a loaded machine gets room.
    expect(elapsedMs, `swept ${elapsedMs} ms after the kill`).toBeLessThan(10_000)
    await Promise.all(inFlight)

    const usage = perMetric(
      await db.db.selectFrom('billing_usage').selectAll().where('user_id', '=', 'crash').execute(),
    )
    const rows = (metric: string) => usage.filter((row) => row.metric === metric)
    expect(rows('requests'), JSON.stringify(usage)).toHaveLength(4)
    expect(rows('tokens_input'), JSON.stringify(usage)).toHaveLength(4)
    expect(rows('tokens_output'), JSON.stringify(usage)).toHaveLength(4)
    for (const row of [...rows('tokens_input'), ...rows('tokens_output')]) {
      expect(Number(row.estimated), JSON.stringify(row)).toBe(1)
      expect(Number(row.amount), JSON.stringify(row)).toBeGreaterThan(0)
    }
    // Billed the output reserve: what the upstream may have spent, unseen.
    expect(rows('tokens_output').every((row) => Number(row.amount) === 500)).toBe(true)
    const counters = byMetric(
      await db.db.selectFrom('billing_quota_counter').select(COUNTER_COLUMNS).execute(),
    )
    expect(
      counters.every((row) => Number(row.reserved) === 0),
      JSON.stringify(counters),
    ).toBe(true)
    expect(counters.find((row) => row.metric === 'requests')?.used).toBeDefined()
    expect(Number(counters.find((row) => row.metric === 'requests')!.used)).toBe(4)
    expect(survivor.gateway.output()).toContain(
      'BILLING swept the reservations of dead gateway processes',
    )
    process.stdout.write(`[crash test ${TEST_DIALECT}] swept ${elapsedMs} ms after kill -9\n`)
  }, 180_000)
})
