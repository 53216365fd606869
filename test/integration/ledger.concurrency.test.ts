import { afterEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { type ReserveResult, reserve, settle } from '../../src/ledger/service.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { reserveFromTwoThreads } from '../helpers/reserve-in-worker.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * The ledger's central promise: a quota check and its reservation are one
 * atomic step in the database, so concurrent requests (one process, or several
 * replicas on one database) never admit more than what remains.
 */
const LIMIT = 40
const ALREADY_USED = 3
const REMAINING = LIMIT - ALREADY_USED // 37
const CONCURRENT = 200
const one = amounts({ requests: 1 })

let open: Harness[] = []
afterEach(async () => {
  for (const h of open.reverse()) await h.close()
  open = []
})

/** A user whose plan allows LIMIT requests, ALREADY_USED of them used: 37 remain. */
async function setup(): Promise<{ h: Harness; e: Entitlement }> {
  const h = await createHarness()
  open.push(h)
  // None ends while they race: no in-flight limit, or it would refuse before the quota does.
  const quotas = { requests: LIMIT, max_concurrent_requests: null }
  const e = await userOnPlan(h, 'u-conc', { id: 'conc', quotas })
  for (let i = 0; i < ALREADY_USED; i++) {
    const r = await reserve(h.deps, e, { requestId: `pre-${i}`, amounts: one })
    expect(r.ok, JSON.stringify(r)).toBe(true)
    expect(await settle(h.deps, `pre-${i}`, one)).toBe(true)
  }
  expect(await counters(h, e)).toMatchObject({ requests: { used: ALREADY_USED, reserved: 0 } })
  return { h, e }
}

async function expectExactlyRemainingAdmitted(
  h: Harness,
  e: Entitlement,
  outcomes: Array<{ ok?: boolean; error?: string } | ReserveResult>,
) {
  const summary = JSON.stringify(outcomes)
  expect(outcomes.filter((o) => 'error' in o && o.error).length, summary).toBe(0)
  expect(outcomes.filter((o) => o.ok === true).length, summary).toBe(REMAINING)
  expect(outcomes.filter((o) => o.ok === false).length, summary).toBe(CONCURRENT - REMAINING)
  expect(await counters(h, e)).toMatchObject({
    requests: { used: ALREADY_USED, reserved: REMAINING },
  })
  const rows = await h.db.selectFrom('billing_reservation').select('request_id').execute()
  expect(rows.length).toBe(REMAINING)
}

describe(`ledger under concurrency (${TEST_DIALECT})`, () => {
  it(`${CONCURRENT} concurrent reservations of 1 request admit exactly the ${REMAINING} remaining`, async () => {
    const { h, e } = await setup()
    const outcomes = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        reserve(h.deps, e, { requestId: `c-${i}`, amounts: one }),
      ),
    )
    for (const o of outcomes.filter((x) => !x.ok)) {
      expect(o, JSON.stringify(o)).toMatchObject({ ok: false, metric: 'requests', limit: LIMIT })
    }
    await expectExactlyRemainingAdmitted(h, e, outcomes)
  })

  it('admits exactly the remaining quota when two gateway processes (threads with their own handle and event loop) share the database', async () => {
    // Every round must be exact. Rounds repeat (fresh database) only until both sides
    // have won some reservations, which proves the two really interleaved.
    for (let round = 1; ; round++) {
      const { h, e } = await setup()
      const ids = Array.from({ length: CONCURRENT }, (_, i) => `w-${i}`)
      const [theirs, mine] = await reserveFromTwoThreads(h, e, ids, one, (requestId) =>
        reserve(h.deps, e, { requestId, amounts: one }),
      )
      await expectExactlyRemainingAdmitted(h, e, [...theirs, ...mine])
      const wins = [theirs, mine].map((side) => side.filter((o) => o.ok).length)
      if (wins.every((n) => n > 0)) return
      expect(round, `no interleaving in ${round} rounds: wins ${wins}`).toBeLessThan(6)
      await h.close()
      open = open.filter((x) => x !== h)
    }
  })

  it.runIf(TEST_DIALECT === 'postgres')(
    'admits exactly the remaining quota across two app instances (two pools) on PostgreSQL',
    async () => {
      const { h, e } = await setup()
      const h2 = await createHarness({ shareDatabaseWith: h })
      open.push(h2)
      const e2 = await h2.deps.entitlements.get('u-conc')
      expect(e2?.subscription.id).toBe(e.subscription.id)
      const outcomes = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          reserve(i % 2 ? h.deps : h2.deps, i % 2 ? e : e2!, {
            requestId: `p-${i}`,
            amounts: one,
          }),
        ),
      )
      await expectExactlyRemainingAdmitted(h, e, outcomes)
      const byInstance = [0, 1].map(
        (parity) => outcomes.filter((o, i) => i % 2 === parity && o.ok).length,
      )
      expect(byInstance[0]! + byInstance[1]!, JSON.stringify(byInstance)).toBe(REMAINING)
    },
  )
})
