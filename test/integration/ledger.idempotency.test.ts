import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import {
  release,
  reserve,
  settle,
  sweepStaleReservations,
} from '../../src/billing/ledger.service.ts'
import { amounts, counters, userOnPlan } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

const TTL = 900

let h: Harness
let e: Entitlement
beforeEach(async () => {
  h = await createHarness({ config: { quota: { reservationTtlSeconds: TTL } } })
  e = await userOnPlan(h, 'u-led', {
    id: 'led',
    quotas: { requests: 10, tokens_input: 1000, tokens_output: 500 },
  })
})
afterEach(() => h.close())

const usageRows = (requestId: string) =>
  h.db.selectFrom('billing_usage').selectAll().where('request_id', '=', requestId).execute()

describe(`ledger reserve / settle / release (${TEST_DIALECT})`, () => {
  it('refuses a reservation that fits requests but not tokens_input and changes no counter', async () => {
    await reserve(h.deps, e, {
      requestId: 'a',
      amounts: amounts({ requests: 1, tokens_input: 600 }),
    })
    const before = await counters(h, e)
    const r = await reserve(h.deps, e, {
      requestId: 'b',
      amounts: amounts({ requests: 1, tokens_input: 401, tokens_output: 100 }),
    })
    expect(r, JSON.stringify(r)).toMatchObject({ ok: false, metric: 'tokens_input', limit: 1000 })
    expect(await counters(h, e)).toEqual(before)
    expect(before.requests.reserved, JSON.stringify(before)).toBe(1)
    const rows = await h.db.selectFrom('billing_reservation').select('request_id').execute()
    expect(rows.map((x) => x.request_id)).toEqual(['a'])
  })

  it('caps tokens_output at what remains and refuses it only when nothing remains', async () => {
    const r1 = await reserve(h.deps, e, {
      requestId: 'o1',
      amounts: amounts({ requests: 1, tokens_output: 400 }),
    })
    const r2 = await reserve(h.deps, e, {
      requestId: 'o2',
      amounts: amounts({ requests: 1, tokens_output: 400 }),
    })
    expect(r2, JSON.stringify(r2)).toMatchObject({ ok: true, reserved: { tokens_output: 100 } })
    expect(r1.ok && r2.ok && r2.remaining.tokens_output).toBe(0)
    const r3 = await reserve(h.deps, e, {
      requestId: 'o3',
      amounts: amounts({ requests: 1, tokens_output: 1 }),
    })
    expect(r3, JSON.stringify(r3)).toMatchObject({ ok: false, metric: 'tokens_output' })
    // o1's answer ran over its estimate: recorded, so output is now overrun (550 of 500) ...
    await settle(h.deps, 'o1', amounts({ requests: 1, tokens_output: 450 }))
    expect((await counters(h, e)).tokens_output).toEqual({ used: 450, reserved: 100 })
    // ... and still a request that needs no output (an embedding) is not refused for output.
    const r4 = await reserve(h.deps, e, {
      requestId: 'o4',
      amounts: amounts({ requests: 1, tokens_input: 5 }),
    })
    expect(r4, JSON.stringify(r4)).toMatchObject({ ok: true })
  })

  it('settles the actual amounts (overruns included) once; a second settle changes nothing', async () => {
    await reserve(h.deps, e, {
      requestId: 's',
      amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 50 }),
    })
    const actual = amounts({ requests: 1, tokens_input: 120, tokens_output: 70 })
    expect(await settle(h.deps, 's', actual)).toBe(true)
    const after = await counters(h, e)
    expect(after).toEqual({
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 120, reserved: 0 },
      tokens_output: { used: 70, reserved: 0 },
    })
    expect(await settle(h.deps, 's', actual)).toBe(false)
    expect(await release(h.deps, 's')).toBe(false)
    expect(await counters(h, e)).toEqual(after)
    const rows = await usageRows('s')
    expect(rows.map((r) => [r.metric, Number(r.amount)]).sort()).toEqual([
      ['requests', 1],
      ['tokens_input', 120],
      ['tokens_output', 70],
    ])
    expect(rows[0]).toMatchObject({ user_id: 'u-led', subscription_id: e.subscription.id })
  })

  it('releases once; a second release (or a late settle) changes nothing', async () => {
    await reserve(h.deps, e, {
      requestId: 'r',
      amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 50 }),
    })
    expect(await release(h.deps, 'r')).toBe(true)
    const after = await counters(h, e)
    expect(after).toEqual({
      requests: { used: 0, reserved: 0 },
      tokens_input: { used: 0, reserved: 0 },
      tokens_output: { used: 0, reserved: 0 },
    })
    expect(await release(h.deps, 'r')).toBe(false)
    expect(await settle(h.deps, 'r', amounts({ requests: 1 }))).toBe(false)
    expect(await counters(h, e)).toEqual(after)
    expect(await usageRows('r')).toEqual([])
  })

  it('sweeps a reservation left by a dead process once it is older than the TTL', async () => {
    await reserve(h.deps, e, {
      requestId: 'dead',
      amounts: amounts({ requests: 1, tokens_input: 300, tokens_output: 200 }),
    })
    h.clock.advance((TTL - 1) * 1000)
    expect(await sweepStaleReservations(h.deps)).toBe(0)
    expect((await counters(h, e)).tokens_input.reserved).toBe(300)
    h.clock.advance(2000)
    expect(await sweepStaleReservations(h.deps)).toBe(1)
    expect(await counters(h, e)).toEqual({
      requests: { used: 0, reserved: 0 },
      tokens_input: { used: 0, reserved: 0 },
      tokens_output: { used: 0, reserved: 0 },
    })
    expect(await sweepStaleReservations(h.deps)).toBe(0)
    expect(h.logText()).toContain('BILLING swept stale quota reservations')
    // The returned quota is usable again.
    const r = await reserve(h.deps, e, {
      requestId: 'next',
      amounts: amounts({ requests: 1, tokens_input: 1000 }),
    })
    expect(r.ok, JSON.stringify(r)).toBe(true)
  })

  it('still records the usage of a slow request that settles after its reservation was swept', async () => {
    await reserve(h.deps, e, {
      requestId: 'slow',
      amounts: amounts({ requests: 1, tokens_input: 100, tokens_output: 100 }),
    })
    h.clock.advance((TTL + 1) * 1000)
    expect(await sweepStaleReservations(h.deps)).toBe(1)
    expect(await release(h.deps, 'never')).toBe(false)
    expect(
      await settle(h.deps, 'slow', amounts({ requests: 1, tokens_input: 90, tokens_output: 40 })),
    ).toBe(true)
    expect(await counters(h, e)).toEqual({
      requests: { used: 1, reserved: 0 },
      tokens_input: { used: 90, reserved: 0 },
      tokens_output: { used: 40, reserved: 0 },
    })
    expect((await usageRows('slow')).length).toBe(3)
    // After a second TTL the swept row is forgotten.
    h.clock.advance((TTL + 1) * 1000)
    await reserve(h.deps, e, { requestId: 'late', amounts: amounts({ requests: 1 }) })
    h.clock.advance(TTL * 2 * 1000 + 1000)
    await sweepStaleReservations(h.deps)
    await sweepStaleReservations(h.deps)
    expect(await h.db.selectFrom('billing_reservation').selectAll().execute()).toEqual([])
  })
})
