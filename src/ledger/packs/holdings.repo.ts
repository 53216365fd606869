import type { Kysely } from 'kysely'
import type { DB, Db, PackHoldingTable } from '../../../db/tables.ts'
import { appendEntry } from './pack-spend.ts'

const DAY_SECONDS = 86_400

/** What a pack was sold as: its holding copies it, so editing the pack later changes no pack bought. */
export interface PackSold {
  id: string
  metric: PackHoldingTable['metric']
  amount: number
  price: number
  currency: string
  validity_days: number
}

/**
 * Credits a pack bought, exactly once per payment: the holding is inserted
 * unless one exists for `transactionId` (unique), and its credit entry with
 * it, in the caller's transaction (the payment's status move). False: this
 * payment has credited a pack already.
 */
export async function creditPack(
  trx: Db,
  input: {
    holdingId: string
    entryId: string
    userId: string
    pack: PackSold
    transactionId: string | null
    now: number
  },
): Promise<boolean> {
  const { pack, now } = input
  const inserted = await trx
    .insertInto('billing_pack_holding')
    .values({
      id: input.holdingId,
      user_id: input.userId,
      pack_id: pack.id,
      metric: pack.metric,
      amount: pack.amount,
      price: pack.price,
      currency: pack.currency,
      transaction_id: input.transactionId,
      remaining: pack.amount,
      reserved: 0,
      valid_until: now + pack.validity_days * DAY_SECONDS,
      closed_at: null,
      closed_reason: null,
      created_at: now,
    })
    .onConflict((oc) => oc.column('transaction_id').doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false
  await appendEntry(trx, {
    id: input.entryId,
    holdingId: input.holdingId,
    userId: input.userId,
    kind: 'credit',
    amount: pack.amount,
    now,
  })
  return true
}

/** A user's packs, newest first, numbers as numbers. */
export async function listHoldings(db: Db, userId: string) {
  const rows = await db
    .selectFrom('billing_pack_holding')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  return rows.map((row) => ({
    ...row,
    amount: Number(row.amount),
    price: Number(row.price),
    remaining: Number(row.remaining),
    reserved: Number(row.reserved),
    valid_until: Number(row.valid_until),
    closed_at: row.closed_at === null ? null : Number(row.closed_at),
    created_at: Number(row.created_at),
  }))
}

/** A user's pack entries, newest first (the history on /billing and in the console). */
export async function listEntries(db: Db, userId: string, limit: number) {
  const rows = await db
    .selectFrom('billing_pack_entry')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((row) => ({
    ...row,
    amount: Number(row.amount),
    created_at: Number(row.created_at),
  }))
}

export async function findHoldingOfPayment(db: Db, transactionId: string) {
  return db
    .selectFrom('billing_pack_holding')
    .selectAll()
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst()
}

/**
 * Expires what is left of the packs past their validity, and of packs closed by a refund
 * once their requests in flight ended: one expiry entry per holding (unique), written only
 * with the holding's balance going to zero in the same transaction. Idempotent: a holding
 * expired already has nothing left. Returns how many it expired.
 */
export async function expirePacks(db: Kysely<DB>, now: number, nextId: () => string, limit = 500) {
  const due = await db
    .selectFrom('billing_pack_holding')
    .select(['id', 'user_id', 'remaining', 'closed_at', 'closed_reason'])
    .where('remaining', '>', 0)
    .where('reserved', '=', 0)
    .where((eb) => eb.or([eb('valid_until', '<=', now), eb('closed_at', 'is not', null)]))
    .limit(limit)
    .execute()
  let expired = 0
  for (const holding of due) {
    const remaining = Number(holding.remaining)
    const done = await db.transaction().execute(async (trx) => {
      // Only while nothing changed it since the read: a concurrent expiry, or a request admitted
      // just before valid_until, leaves it to the next pass.
      const closed = await trx
        .updateTable('billing_pack_holding')
        .set({
          closed_at: holding.closed_at ?? now,
          closed_reason: holding.closed_reason ?? 'expiry',
        })
        .where('id', '=', holding.id)
        .where('remaining', '=', remaining)
        .where('reserved', '=', 0)
        .executeTakeFirst()
      if (closed.numUpdatedRows === 0n) return false
      const already = await trx
        .selectFrom('billing_pack_entry')
        .select('id')
        .where('holding_id', '=', holding.id)
        .where('kind', '=', 'expiry')
        .executeTakeFirst()
      if (already) return false
      await appendEntry(trx, {
        id: nextId(),
        holdingId: holding.id,
        userId: holding.user_id,
        kind: 'expiry',
        amount: -remaining,
        now,
      })
      return true
    })
    if (done) expired++
  }
  return expired
}

/**
 * A refund of a pack's payment was asked for: the pack stops being spendable at once (no
 * new reservation takes it), and what it has free now is what the refund may pay back.
 * Null: the payment bought no pack, or its pack is closed already (refunded or expired).
 */
export async function closePackForRefund(db: Db, transactionId: string, now: number) {
  const holding = await findHoldingOfPayment(db, transactionId)
  if (!holding || holding.closed_at !== null) return null
  const closed = await db
    .updateTable('billing_pack_holding')
    .set({ closed_at: now, closed_reason: 'refund' })
    .where('id', '=', holding.id)
    .where('closed_at', 'is', null)
    .returning(['id', 'amount', 'remaining', 'reserved', 'price', 'valid_until'])
    .executeTakeFirst()
  if (!closed) return null
  const unused = Number(closed.remaining) - Number(closed.reserved)
  return {
    holdingId: closed.id,
    amount: Number(closed.amount),
    unused,
    price: Number(closed.price),
  }
}

/** The refund failed (YooKassa refused or canceled it): the pack is spendable again, unless it was refunded. */
export async function reopenPackAfterRefund(db: Db, transactionId: string) {
  await db
    .updateTable('billing_pack_holding')
    .set({ closed_at: null, closed_reason: null })
    .where('transaction_id', '=', transactionId)
    .where('closed_reason', '=', 'refund')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('billing_pack_entry')
            .select('id')
            .whereRef('billing_pack_entry.holding_id', '=', 'billing_pack_holding.id')
            .where('billing_pack_entry.kind', 'in', ['refund', 'expiry']),
        ),
      ),
    )
    .execute()
}

/**
 * The refund succeeded: one refund entry takes what the pack has free (in the
 * caller's transaction, the refund's exactly-once claim). What requests in
 * flight still hold is spent by them or, left over, expired by the job.
 */
export async function writeRefundEntry(
  trx: Db,
  transactionId: string,
  entryId: string,
  now: number,
) {
  const holding = await findHoldingOfPayment(trx, transactionId)
  if (!holding) return false
  const free = Number(holding.remaining) - Number(holding.reserved)
  await trx
    .updateTable('billing_pack_holding')
    .set({ closed_at: holding.closed_at ?? now, closed_reason: holding.closed_reason ?? 'refund' })
    .where('id', '=', holding.id)
    .execute()
  await appendEntry(trx, {
    id: entryId,
    holdingId: holding.id,
    userId: holding.user_id,
    kind: 'refund',
    amount: -Math.max(free, 0),
    now,
  })
  return true
}

/**
 * The pro rata refund of a pack's unused part, in kopecks: price x unused / amount,
 * rounded down (the payer is never refunded more than the part not used).
 */
export function unusedValue(price: number, amount: number, unused: number): number {
  if (amount <= 0 || unused <= 0) return 0
  return Number((BigInt(price) * BigInt(unused)) / BigInt(amount))
}
