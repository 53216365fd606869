import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { findLiveSubscription } from '../../src/billing/subscriptions.repo.ts'
import {
  type FakeYooKassa,
  startFakeYooKassa,
  WEBHOOK_PATH,
  yookassaEnv,
} from '../helpers/fake-yookassa.ts'
import { type Checkout, postCheckout } from '../helpers/payments-fixture.ts'
import {
  createProcessDatabase,
  type ProcessDatabase,
  type RunningGateway,
  startGateway,
} from '../helpers/spawn-gateway.ts'

/**
 * A gateway process killed (SIGKILL, no cleanup) in the middle of a payment
 * loses nothing: what it committed before dying is enough for the next
 * process to finish the job when YooKassa delivers again.
 */
const run = promisify(execFile)
const JWT_SECRET = 'crash-test-secret-0123456789abcdef'
let fake: FakeYooKassa
let database: ProcessDatabase
let db: Database
const running: RunningGateway[] = []

afterEach(async () => {
  for (const gateway of running.splice(0)) await gateway.stop('SIGKILL')
  await db?.close()
  await fake?.close()
  await database?.drop()
})

const start = () =>
  startGateway(
    {
      ...yookassaEnv(fake),
      DATABASE_URL: database.url,
      JWT_SECRET,
      YOOKASSA_API_URL: fake.url,
    },
    running,
  )

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * SIGKILL for real, whatever the process tree: `tsx` may run the gateway in
 * a child node process that a SIGKILL of tsx would orphan, so children (by
 * parent pid) are killed first; then the port must be dead.
 */
async function killHard(gateway: RunningGateway, base: string) {
  const parent = gateway.child.pid!
  const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(parent)]).catch(() => ({
    stdout: '',
  }))
  for (const pid of stdout.split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
  await gateway.stop('SIGKILL')
  const alive = await fetch(`${base}/healthz`).then(
    () => true,
    () => false,
  )
  expect(alive, 'the killed gateway still answers').toBe(false)
}

const token = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET))

describe('a process killed mid-payment loses nothing', () => {
  it('killed after recording a notification, before answering: the redelivery to a new process credits once', async () => {
    fake = await startFakeYooKassa()
    database = await createProcessDatabase()
    const first = await start()
    db = createDb(database.url)
    const res = await postCheckout(first.base, await token('u1'))
    const checkout = (await res.json()) as Checkout
    expect(res.status, JSON.stringify(checkout)).toBe(201)
    fake.pay(checkout.payment_id)

    // The process records the notification, then stalls on the GET: kill it there.
    fake.fail({ method: 'GET', path: /^\/payments\// }, { hang: true })
    const note = fake.notification('payment.succeeded', checkout.payment_id)
    const lost = fake.notify(first.base + WEBHOOK_PATH, note).catch((error: Error) => error)
    await until(
      () => db.db.selectFrom('billing_webhook_event').select('id').executeTakeFirst(),
      'the notification to be recorded',
    )
    await killHard(first.gateway, first.base)
    expect(await lost).toBeInstanceOf(Error)

    const second = await start()
    const delivered = await fake.notify(second.base + WEBHOOK_PATH, note)
    expect(delivered.status, delivered.body + second.gateway.output()).toBe(200)
    const events = await db.db
      .selectFrom('billing_webhook_event')
      .select('outcome')
      .orderBy('id')
      .execute()
    expect(events.map((e) => e.outcome)).toEqual(['received', 'applied: credited'])
    const row = await db.db.selectFrom('billing_transaction').selectAll().executeTakeFirstOrThrow()
    expect(row.status).toBe('succeeded')
    expect((await findLiveSubscription(db.db, 'u1'))?.plan_id).toBe('pro')
  }, 60_000)

  it('killed after YooKassa created the payment, before the row knew its id: the notification still finds it', async () => {
    fake = await startFakeYooKassa()
    database = await createProcessDatabase()
    const first = await start()
    db = createDb(database.url)
    // YooKassa creates the payment, but the answer never comes back.
    fake.fail({ method: 'POST', path: /^\/payments$/ }, { afterProcessing: true, hang: true })
    const lost = postCheckout(first.base, await token('u2')).catch((error: Error) => error)
    await until(
      async () => (fake.payments.size > 0 ? true : undefined),
      'YooKassa to create the payment',
    )
    await killHard(first.gateway, first.base)
    expect(await lost).toBeInstanceOf(Error)
    const pending = await db.db
      .selectFrom('billing_transaction')
      .selectAll()
      .executeTakeFirstOrThrow()
    expect(pending).toMatchObject({ status: 'pending', provider_payment_id: null })

    const [paymentId] = [...fake.payments.keys()]
    fake.pay(paymentId!)
    const second = await start()
    const delivered = await fake.notify(
      second.base + WEBHOOK_PATH,
      fake.notification('payment.succeeded', paymentId!),
    )
    expect(delivered.status, delivered.body + second.gateway.output()).toBe(200)
    const row = await db.db.selectFrom('billing_transaction').selectAll().executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      id: pending.id,
      status: 'succeeded',
      provider_payment_id: paymentId,
    })
    expect((await findLiveSubscription(db.db, 'u2'))?.plan_id).toBe('pro')
  }, 60_000)
})
