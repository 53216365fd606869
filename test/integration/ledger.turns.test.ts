import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { release, reserve, settle } from '../../src/ledger/service.ts'
import {
  createLedgerStore,
  type LedgerBatchObserver,
  type LedgerStoreOptions,
} from '../../src/ledger/store.ts'
import { createPendingWrites } from '../../src/lib/pending-writes.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * The ledger's turns (src/ledger/store.ts): on SQLite a turn's closes and reserves are one
 * synchronous transaction beside Kysely's own; closes may wait for the next reserve batch
 * (the close window), and whoever reads or shuts down cuts that wait short.
 */
describe(`ledger turns (${TEST_DIALECT})`, () => {
  let h: Harness
  let plan = 0
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const ask = amounts({ requests: 1, tokens_input: 10, tokens_output: 10 })
  const used = amounts({ requests: 1, tokens_input: 7, tokens_output: 3 })

  async function user(quotas = { requests: 100, tokens_input: 10_000, tokens_output: 10_000 }) {
    plan++
    return userOnPlan(h, `u-turn-${plan}`, { id: `turn-${plan}`, quotas })
  }

  /** The harness's deps with a ledger of its own (options, and every commit recorded). */
  function ledgerWith(options: LedgerStoreOptions) {
    const commits: Array<{ reserve: number; close: number }> = []
    const observer: LedgerBatchObserver = { onCommit: (sizes) => commits.push(sizes) }
    const ledger = createLedgerStore(h.deps.database, observer, options)
    const pendingSettles = createPendingWrites(() => ledger.hurry())
    return { deps: { ...h.deps, ledger, pendingSettles }, commits }
  }

  /** Releases without waiting out a long window. */
  function releaseNow(deps: ReturnType<typeof ledgerWith>['deps'], ...ids: string[]) {
    const released = Promise.all(ids.map((id) => release(deps, id)))
    deps.ledger.hurry()
    return released
  }

  const reservation = (requestId: string) =>
    h.db
      .selectFrom('billing_reservation')
      .select('request_id')
      .where('request_id', '=', requestId)
      .executeTakeFirst()

  // SQLite only: PostgreSQL's transactions have connections of their own.
  it.skipIf(TEST_DIALECT !== 'sqlite')(
    'a Kysely transaction open across awaits: the reserves meanwhile wait for it, none lands inside',
    async () => {
      const alice = await user()
      const reservedNow = async (db: typeof h.db) =>
        (
          await db
            .selectFrom('billing_quota_counter')
            .select('requests_reserved')
            .where('subscription_id', '=', alice.subscription.id)
            .executeTakeFirstOrThrow()
        ).requests_reserved
      let reserves: Array<ReturnType<typeof reserve>> = []
      const inside: number[] = []
      const undone = h.db.transaction().execute(async (trx) => {
        inside.push(await reservedNow(trx))
        reserves = ['k1', 'k2', 'k3'].map((id) =>
          reserve(h.deps, alice, { requestId: id, amounts: ask }),
        )
        await sleep(30) // the reserves' turns come and go meanwhile
        inside.push(await reservedNow(trx))
        throw new Error('rolled back on purpose')
      })
      await expect(undone).rejects.toThrow('rolled back on purpose')
      expect(inside, 'no reserve ran inside the open transaction').toEqual([0, 0])
      expect((await Promise.all(reserves)).map((r) => r.ok)).toEqual([true, true, true])
      expect(await reservedNow(h.db), 'the reserves landed after it, not undone with it').toBe(3)
      await Promise.all(['k1', 'k2', 'k3'].map((id) => release(h.deps, id)))
    },
  )

  it.skipIf(TEST_DIALECT !== 'sqlite')(
    'a close waits for the next reserve and commits with it, in one transaction',
    async () => {
      const bob = await user()
      const { deps, commits } = ledgerWith({ closeWindowMs: 5_000 })
      expect(await reserve(deps, bob, { requestId: 'b1', amounts: ask })).toMatchObject({
        ok: true,
      })
      expect(commits).toEqual([{ reserve: 1, close: 0 }])
      const settled = settle(deps, 'b1', used)
      await sleep(50)
      expect(commits, 'the close waits in its window').toHaveLength(1)
      expect(await reservation('b1'), 'held until its close lands').toBeDefined()
      const next = reserve(deps, bob, { requestId: 'b2', amounts: ask })
      expect(await settled).toBe(true)
      expect((await next).ok).toBe(true)
      expect(commits.slice(1), 'the close rode with the reserve').toEqual([
        { reserve: 1, close: 1 },
      ])
      expect(await reservation('b1')).toBeUndefined()
      await releaseNow(deps, 'b2')
    },
  )

  it('a quiet gateway: a lone close lands within its window, or at once when enough wait', async () => {
    const carol = await user()
    const { deps, commits } = ledgerWith({ closeWindowMs: 60, maxWaitingCloses: 3 })
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      expect((await reserve(deps, carol, { requestId: id, amounts: ask })).ok).toBe(true)
    }
    commits.length = 0
    const started = performance.now()
    expect(await settle(deps, 'c1', used)).toBe(true)
    const waited = performance.now() - started
    expect(waited, 'waited for company').toBeGreaterThanOrEqual(50)
    expect(waited, 'but not much longer than the window').toBeLessThan(2_000)
    const full = performance.now()
    expect(await Promise.all(['c2', 'c3', 'c4'].map((id) => settle(deps, id, used)))).toEqual([
      true,
      true,
      true,
    ])
    expect(performance.now() - full, 'three waiting: no window').toBeLessThan(50)
    expect(commits.map((c) => c.close)).toEqual([1, 3])
  })

  it("a reader of the user's usage cuts the window short and reads it exact", async () => {
    const dave = await user()
    const { deps } = ledgerWith({ closeWindowMs: 60_000 })
    expect((await reserve(deps, dave, { requestId: 'd1', amounts: ask })).ok).toBe(true)
    // As pipeline/settle/settle.ts does after the answer left.
    deps.pendingSettles.track(dave.userId, settle(deps, 'd1', used))
    const started = performance.now()
    expect(await deps.pendingSettles.settled(dave.userId, 5_000), 'ended, not timed out').toBe(true)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect((await counters(h, dave)).tokens_input).toEqual({ used: 7, reserved: 0 })
  })

  it('shutdown (idle) writes every waiting close at once and loses none', async () => {
    const erin = await user()
    const { deps } = ledgerWith({ closeWindowMs: 60_000 })
    const ids = ['e1', 'e2', 'e3', 'e4', 'e5']
    for (const id of ids) {
      expect((await reserve(deps, erin, { requestId: id, amounts: ask })).ok).toBe(true)
    }
    for (const id of ids.slice(0, 4)) deps.pendingSettles.track(erin.userId, settle(deps, id, used))
    deps.pendingSettles.track(erin.userId, release(deps, 'e5'))
    const started = performance.now()
    expect(await deps.pendingSettles.idle(5_000)).toBe(true)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(await counters(h, erin)).toEqual({
      requests: { used: 4, reserved: 0 },
      tokens_input: { used: 28, reserved: 0 },
      tokens_output: { used: 12, reserved: 0 },
    })
  })

  it('a database error in a turn: the turn changes nothing, each write then gets its own outcome', async () => {
    const fay = await user()
    const { deps } = ledgerWith({ closeWindowMs: 5_000 })
    for (const id of ['f1', 'f2']) {
      expect((await reserve(deps, fay, { requestId: id, amounts: ask })).ok).toBe(true)
    }
    // f1's close reuses a usage id that exists: its INSERT fails, and with it the turn.
    const taken = `usage-taken-${plan}`
    await h.db
      .insertInto('billing_usage')
      .values({
        id: taken,
        user_id: fay.userId,
        subscription_id: fay.subscription.id,
        ...{ requests: 0, tokens_input: 0, tokens_output: 0 },
        ...{ raw_input: null, raw_output: null, cost_input_micros: null, cost_output_micros: null },
        request_id: 'elsewhere',
        estimated: 0,
        created_at: 0,
      })
      .execute()
    const now = Math.floor(Date.now() / 1000)
    const close = (requestId: string, usageId: string) =>
      deps.ledger.close({ requestId, actual: used, usageId, estimated: false, now })
    const outcomes = await Promise.allSettled([
      close('f1', taken),
      close('f2', `${taken}-2`),
      reserve(deps, fay, { requestId: 'f3', amounts: ask }),
      deps.ledger.hurry(), // PostgreSQL's closes do not ride with reserves
    ])
    expect(outcomes.map((o) => o.status)).toEqual([
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ])
    expect(await reservation('f1'), "f1's failed close changed nothing").toBeDefined()
    expect(await reservation('f2')).toBeUndefined()
    expect(await reservation('f3')).toBeDefined()
    expect(await counters(h, fay)).toEqual({
      requests: { used: 1, reserved: 2 },
      tokens_input: { used: 7, reserved: 20 },
      tokens_output: { used: 3, reserved: 20 },
    })
    await releaseNow(deps, 'f1', 'f3')
  })

  it.skipIf(TEST_DIALECT !== 'sqlite')(
    'reserves that do not fit as a batch are decided alone in the same transaction as the closes',
    async () => {
      const gus: Entitlement = await user({
        requests: 2,
        tokens_input: 10_000,
        tokens_output: 10_000,
      })
      const { deps, commits } = ledgerWith({ closeWindowMs: 5_000 })
      expect((await reserve(deps, gus, { requestId: 'g1', amounts: ask })).ok).toBe(true)
      commits.length = 0
      const closed = settle(deps, 'g1', used)
      const results = await Promise.all(
        ['g2', 'g3'].map((id) => reserve(deps, gus, { requestId: id, amounts: ask })),
      )
      expect(await closed).toBe(true)
      // 2 requests a period: g1 used one, so of g2 and g3 only the first fits.
      expect(results.map((r) => r.ok)).toEqual([true, false])
      expect(commits[0], 'one transaction: the close, then the reserves one by one').toEqual({
        reserve: 2,
        close: 1,
      })
      await releaseNow(deps, 'g2')
    },
  )
})
