import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import { byMetric, COUNTER_COLUMNS } from '../helpers/counters.ts'
import { type FakeUpstream, sleep, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  startGateway,
} from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { perMetric } from '../helpers/usage-rows.ts'

const JWT_SECRET = 'restart-test-secret-0123456789abcdef-long'

/**
 * kill -9 of a gateway process, restarted at once on the same address: the
 * restarted process takes over its predecessor's reservations at start (same
 * host, same listening socket), so a user whose call died with the process is
 * not refused by max_concurrent_requests until the sweepers see the owner dead.
 * A live peer's reservation is never taken and still counts.
 */
describe(`billing integrity: a process restarted after kill -9 (${TEST_DIALECT})`, () => {
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

  /** A database, an upstream that holds every call, and the environment of a gateway on `port`. */
  async function setUp() {
    database = await createProcessDatabase()
    upstream = await startFakeUpstream()
    upstream.behave({ hang: true })
    const configFile = join(database.dir, 'restart.config.ts')
    writeFileSync(
      configFile,
      `export default ${JSON.stringify({
        plans: [
          {
            id: 'one-at-a-time',
            name: 'One at a time',
            price: 0,
            quotas: {
              requests: 100,
              tokens_input: 100_000,
              tokens_output: 100_000,
              max_concurrent_requests: 1,
            },
          },
        ],
        billing: { defaultPlanId: 'one-at-a-time' },
        openModels: ['*'],
        // A SIGTERM drains its held requests this long.
        server: { shutdownGraceMs: 20_000 },
        // The sweepers alone would free the dead process's slot only after a minute.
        quota: { heartbeatIntervalMs: 1_000, ownerDeadAfterSeconds: 60, defaultOutputReserve: 500 },
      })}\n`,
    )
    db = createDb(database.url)
    const fake = upstream
    const env = (port: number) => ({
      DATABASE_URL: database!.url,
      LOG_LEVEL: 'info',
      JWT_SECRET,
      GATEWAY_CONFIG: configFile,
      UPSTREAM_BASE_URL: upstream!.url,
      UPSTREAM_API_KEY: 'sk-upstream-restart-test',
      PORT: String(port),
    })
    return { env, fake }
  }
  const token = (sub: string) => mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub })
  const call = (base: string, token: string, content: string, stream = false) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream }),
    })
  /** Whether something listens on the port (a fresh connection, never a pooled one). */
  const accepts = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
  const reservations = () =>
    db!.db.selectFrom('billing_reservation').select(['request_id', 'user_id', 'owner']).execute()

  it("frees the dead predecessor's slot at once, bills its sent request exactly once, and leaves a live peer's alone", async () => {
    const { env, fake } = await setUp()
    const port = await freePort()
    // One after the other: the first start migrates the empty database.
    const doomed = await startGateway(env(port), running)
    const peer = await startGateway(env(await freePort()), running)
    const tokens = { crashed: await token('crashed'), peered: await token('peered') }

    const held = [
      call(doomed.base, tokens.crashed, 'dies with its process').catch((e: unknown) => e),
      call(peer.base, tokens.peered, 'held by a live peer').catch((e: unknown) => e),
    ]
    for (let i = 0; i < 500 && fake.requests.length < 2; i++) await sleep(20)
    expect(fake.requests.length, doomed.gateway.output()).toBe(2)
    const before = await reservations()
    expect(before, JSON.stringify(before)).toHaveLength(2)
    const peerReservation = before.find((row) => row.user_id === 'peered')!

    doomed.gateway.child.kill('SIGKILL')
    await doomed.gateway.exited
    const killedAt = Date.now()
    const restarted = await startGateway(env(port), running)
    fake.behave({})

    const served = await call(restarted.base, tokens.crashed, 'the next call after the restart')
    const elapsedMs = Date.now() - killedAt
    expect(served.status, `${await served.clone().text()}\n${restarted.gateway.output()}`).toBe(200)
    await served.text()
    // Well inside the minute after which the sweepers alone would have freed the slot.
    expect(elapsedMs).toBeLessThan(45_000)

    // The live peer's request still holds the peered user's only slot.
    const refused = await call(restarted.base, tokens.peered, 'refused while the peer holds one')
    expect(refused.status, await refused.clone().text()).toBe(429)
    expect(((await refused.json()) as { error: { param: string } }).error.param).toBe(
      'max_concurrent_requests',
    )
    const after = await reservations()
    expect(after, JSON.stringify(after)).toEqual([peerReservation])

    // The dead request is billed once, as estimated; the new one by its usage.
    const usage = perMetric(
      await db!.db
        .selectFrom('billing_usage')
        .selectAll()
        .where('user_id', '=', 'crashed')
        .execute(),
    )
    const dead = before.find((row) => row.user_id === 'crashed')!.request_id
    const deadRows = usage.filter((row) => row.request_id === dead)
    expect(deadRows.map((row) => row.metric).sort(), JSON.stringify(usage)).toEqual([
      'requests',
      'tokens_input',
      'tokens_output',
    ])
    expect(Number(deadRows.find((row) => row.metric === 'tokens_output')!.amount)).toBe(500)
    expect(
      deadRows.every((row) => Number(row.estimated) === (row.metric === 'requests' ? 0 : 1)),
      JSON.stringify(deadRows),
    ).toBe(true)
    expect(usage.filter((row) => row.metric === 'requests')).toHaveLength(2)
    const counters = byMetric(
      await db!.db
        .selectFrom('billing_quota_counter as c')
        .innerJoin('billing_subscription as s', 's.id', 'c.subscription_id')
        .select(COUNTER_COLUMNS.map((column) => `c.${column}` as const))
        .where('s.user_id', '=', 'crashed')
        .execute(),
    )
    expect(counters.every((row) => Number(row.reserved) === 0)).toBe(true)
    expect(Number(counters.find((row) => row.metric === 'requests')!.used)).toBe(2)
    expect(restarted.gateway.output()).toContain('BILLING took over the reservations')

    await fake.close() // lets the held requests end
    await Promise.all(held)
    process.stdout.write(
      `[restart test ${TEST_DIALECT}] served ${elapsedMs} ms after kill -9 (restart included)\n`,
    )
  }, 180_000)
  it('never takes the reservations of a process that drains after SIGTERM, though its successor binds the same address', async () => {
    const { env, fake } = await setUp()
    // The answer's headers go out, its chunks wait for the test.
    let answer = () => {}
    const answering = new Promise<void>((resolve) => {
      answer = resolve
    })
    fake.behave({ beforeChunk: () => answering })
    const port = await freePort()
    const stopping = await startGateway(env(port), running)
    const held = call(stopping.base, await token('drained'), 'drains', true).then((r) => r.text())
    for (let i = 0; i < 500 && fake.requests.length < 1; i++) await sleep(20)
    const before = await reservations()
    expect(before, stopping.gateway.output()).toHaveLength(1)

    stopping.gateway.child.kill('SIGTERM')
    // Its listening socket closes at once; the held request drains for up to 20 s.
    for (let i = 0; i < 200 && (await accepts(port)); i++) await sleep(50)
    const successor = await startGateway(env(port), running)
    await sleep(300)
    expect(await reservations(), successor.gateway.output()).toEqual(before)
    expect(successor.gateway.output()).not.toContain('BILLING took over')

    answer() // the held answer ends; the draining process settles it and exits
    expect(await held).toContain('[DONE]')
    expect(await stopping.gateway.exited).toBe(0)
    const usage = perMetric(
      await db!.db
        .selectFrom('billing_usage')
        .selectAll()
        .where('user_id', '=', 'drained')
        .execute(),
    )
    // Settled by its own process, by the upstream's usage: one row per metric, none estimated.
    expect(usage, JSON.stringify(usage)).toHaveLength(3)
    expect(usage.every((row) => Number(row.estimated) === 0)).toBe(true)
  }, 180_000)
})
