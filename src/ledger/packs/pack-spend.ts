import { sql } from 'kysely'
import type { Db, PackHoldingRow } from '../../../db/tables.ts'
import type { Metric } from '../amounts.ts'

/** What a spend wrote: the units taken from packs, and those no pack had room for (never billed). */
export interface Spent {
  spent: number
  unbilled: number
}

/**
 * Appends one entry and moves its holding's `remaining` by the same amount, in
 * the caller's transaction: the ledger of a holding always sums to its balance.
 */
export async function appendEntry(
  trx: Db,
  entry: {
    id: string
    holdingId: string
    userId: string
    kind: 'credit' | 'spend' | 'refund' | 'expiry'
    amount: number
    requestId?: string | null
    now: number
  },
) {
  await trx
    .insertInto('billing_pack_entry')
    .values({
      id: entry.id,
      holding_id: entry.holdingId,
      user_id: entry.userId,
      kind: entry.kind,
      amount: entry.amount,
      request_id: entry.requestId ?? null,
      created_at: entry.now,
    })
    .execute()
  if (entry.kind === 'credit') return // the holding is inserted with its credit as `remaining`
  await trx
    .updateTable('billing_pack_holding')
    .set((eb) => ({ remaining: eb('remaining', '+', entry.amount) }))
    .where('id', '=', entry.holdingId)
    .execute()
}

/**
 * Spends `amount` beyond what a reservation held (an overrun, or a late
 * settle's correction) from the user's packs of `metric`, the oldest expiry
 * first, each only within its free room (`remaining - reserved`), so no pack
 * ever goes below what its requests in flight hold, nor below zero. What no
 * pack has room for is returned as `unbilled`: a pack is never overdrawn.
 */
export async function spendFreeRoom(
  trx: Db,
  input: { userId: string; metric: Metric; amount: number; requestId: string; now: number },
  nextId: () => string,
): Promise<Spent> {
  let left = input.amount
  for (let pass = 0; left > 0 && pass < 5; pass++) {
    const holdings = await trx
      .selectFrom('billing_pack_holding')
      .selectAll()
      .where('user_id', '=', input.userId)
      .where('metric', '=', input.metric)
      .where('closed_at', 'is', null)
      .where('valid_until', '>', input.now)
      .where(sql<number>`remaining - reserved`, '>', 0)
      .orderBy('valid_until')
      .orderBy('id')
      .execute()
    if (holdings.length === 0) break
    for (const holding of holdings) {
      if (left === 0) break
      const take = Math.min(left, Number(holding.remaining) - Number(holding.reserved))
      if (await takeFreeRoom(trx, holding, take)) {
        await trx
          .insertInto('billing_pack_entry')
          .values({
            id: nextId(),
            holding_id: holding.id,
            user_id: input.userId,
            kind: 'spend',
            amount: -take,
            request_id: input.requestId,
            created_at: input.now,
          })
          .execute()
        left -= take
      }
    }
  }
  return { spent: input.amount - left, unbilled: left }
}

/** One conditional UPDATE: the room is taken only if it is still free (a concurrent spend re-read). */
async function takeFreeRoom(trx: Db, holding: PackHoldingRow, take: number) {
  const result = await trx
    .updateTable('billing_pack_holding')
    .set((eb) => ({ remaining: eb('remaining', '-', take) }))
    .where('id', '=', holding.id)
    .where(sql<number>`remaining - reserved`, '>=', take)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
