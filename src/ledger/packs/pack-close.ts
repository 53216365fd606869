import type { Kysely } from 'kysely'
import type { DB } from '../../../db/tables.ts'
import type { Amounts } from '../amounts.ts'
import { appendEntry, type Spent, spendFreeRoom } from './pack-spend.ts'

/**
 * The ends of a pack-funded reservation (pack-reserve.ts), each one
 * transaction that deletes the reservation row first: whoever deletes it
 * does the rest, so a second settle or release, or a sweeper racing the
 * owner, finds nothing and changes nothing (as billing_reservation's closes).
 */

/**
 * Settles: the pack it held pays min(actual, held), which its reservation kept free; an
 * overrun is spent from the free room of the user's packs, oldest expiry first. Null: no
 * pack reservation of this id (a period-funded request, or one already ended).
 */
export async function settleFromPack(
  db: Kysely<DB>,
  input: { requestId: string; actual: Amounts; now: number },
  nextId: () => string,
): Promise<Spent | null> {
  return db.transaction().execute(async (trx) => {
    const held = await trx
      .deleteFrom('billing_pack_reservation')
      .where('request_id', '=', input.requestId)
      .returningAll()
      .executeTakeFirst()
    if (!held) return null
    const reserved = Number(held.amount)
    const want = input.actual[held.metric]
    const fromHeld = Math.min(want, reserved)
    await trx
      .updateTable('billing_pack_holding')
      .set((eb) => ({ reserved: eb('reserved', '-', reserved) }))
      .where('id', '=', held.holding_id)
      .execute()
    if (fromHeld > 0) {
      await appendEntry(trx, {
        id: nextId(),
        holdingId: held.holding_id,
        userId: held.user_id,
        kind: 'spend',
        amount: -fromHeld,
        requestId: input.requestId,
        now: input.now,
      })
    }
    if (want === fromHeld) return { spent: fromHeld, unbilled: 0 }
    const overrun = await spendFreeRoom(
      trx,
      {
        userId: held.user_id,
        metric: held.metric,
        amount: want - fromHeld,
        requestId: input.requestId,
        now: input.now,
      },
      nextId,
    )
    return { spent: fromHeld + overrun.spent, unbilled: overrun.unbilled }
  })
}

/** Releases: the pack's hold returns, nothing is spent. False: no pack reservation of this id. */
export async function releaseFromPack(db: Kysely<DB>, requestId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const held = await trx
      .deleteFrom('billing_pack_reservation')
      .where('request_id', '=', requestId)
      .returning(['holding_id', 'amount'])
      .executeTakeFirst()
    if (!held) return false
    await trx
      .updateTable('billing_pack_holding')
      .set((eb) => ({ reserved: eb('reserved', '-', Number(held.amount)) }))
      .where('id', '=', held.holding_id)
      .execute()
    return true
  })
}

/**
 * The settle of a pack-funded request whose reservation was swept meanwhile (billed as
 * estimated: its owner looked dead). The spends already written for the request are
 * corrected to the true amount: a shortfall spent from free room, an excess given back
 * to the pack it was taken from while that pack is still open. Null: the request spent
 * nothing from packs (it was period-funded: the period's late settle applies).
 */
export async function settleLateFromPack(
  db: Kysely<DB>,
  input: { requestId: string; actual: Amounts; now: number },
  nextId: () => string,
): Promise<boolean | null> {
  return db.transaction().execute(async (trx) => {
    const spends = await trx
      .selectFrom('billing_pack_entry as e')
      .innerJoin('billing_pack_holding as h', 'h.id', 'e.holding_id')
      .select(['e.holding_id', 'e.amount', 'h.user_id', 'h.metric', 'h.closed_at', 'h.valid_until'])
      .where('e.request_id', '=', input.requestId)
      .where('e.kind', '=', 'spend')
      .orderBy('e.id')
      .execute()
    const first = spends[0]
    if (!first) return null
    const spent = -spends.reduce((sum, entry) => sum + Number(entry.amount), 0)
    const delta = input.actual[first.metric] - spent
    if (delta === 0) return false
    if (delta > 0) {
      const fields = { userId: first.user_id, metric: first.metric, amount: delta }
      await spendFreeRoom(trx, { ...fields, requestId: input.requestId, now: input.now }, nextId)
      return true
    }
    // An expired or refunded pack takes nothing back: its ledger is closed.
    if (first.closed_at !== null || Number(first.valid_until) <= input.now) return false
    await appendEntry(trx, {
      id: nextId(),
      holdingId: first.holding_id,
      userId: first.user_id,
      kind: 'spend',
      amount: -delta,
      requestId: input.requestId,
      now: input.now,
    })
    return true
  })
}
