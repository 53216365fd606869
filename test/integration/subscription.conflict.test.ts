import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { call } from '../helpers/billing.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(() => h.close())

/**
 * Every write to a subscription is guarded by its version; a trigger that
 * drops every update of billing_subscription plays another writer that wins
 * each race, so a change never lands and the service runs out of rounds.
 */
async function loseEveryRace() {
  if (TEST_DIALECT === 'sqlite') {
    await sql`CREATE TRIGGER lose_every_race BEFORE UPDATE ON billing_subscription
      BEGIN SELECT RAISE(IGNORE); END`.execute(h.db)
    return
  }
  await sql`CREATE FUNCTION lose_every_race() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RETURN NULL; END $$`.execute(h.db)
  await sql`CREATE TRIGGER lose_every_race BEFORE UPDATE ON billing_subscription
    FOR EACH ROW EXECUTE FUNCTION lose_every_race()`.execute(h.db)
}

const asUser = async (method: string, path: string, body?: unknown) =>
  call(h, method, path, body, await h.token({ sub: 'racer' }))

describe(`a subscription that keeps changing (${TEST_DIALECT})`, () => {
  it('answers 409 conflict_error, the same whichever service runs out of rounds', async () => {
    const grant = { user_id: 'racer', plan_id: 'pro', periods: 1 }
    const granted = await call(
      h,
      'POST',
      '/api/v1/billing/admin/subscriptions',
      grant,
      await h.adminToken(),
    )
    expect(granted.status, granted.text).toBe(201)
    await loseEveryRace()

    // The cancel's own write is lost every round.
    const cancel = await asUser('POST', '/api/v1/billing/subscription/cancel', { immediate: false })
    // The paid time ran out: bringing it up to date is lost every round (this answered 500).
    h.clock.advance(40 * 86_400_000)
    const me = await asUser('GET', '/api/v1/billing/me')

    const conflict = {
      error: {
        message: 'The subscription kept changing; try again',
        type: 'conflict_error',
        code: 'conflict',
        param: null,
      },
    }
    expect([cancel.status, cancel.body]).toEqual([409, conflict])
    expect([me.status, me.body]).toEqual([409, conflict])
  })
})
