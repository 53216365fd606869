import type { Db, PromoCodeRow, PromoRedemptionRow } from '../../db/tables.ts'

/**
 * promo_code and promo_redemption. A redemption is two writes in one
 * transaction: the row (unique per code and user: the second of two concurrent
 * redemptions by one user inserts nothing) and one use taken from the code
 * under its limit (the second of two users racing for a last use updates
 * nothing). Either failing rolls both back.
 */
export async function insertPromoCode(db: Db, row: PromoCodeRow): Promise<void> {
  await db.insertInto('promo_code').values(row).execute()
}

export async function findPromoCodeByHash(db: Db, codeHash: string) {
  return db
    .selectFrom('promo_code')
    .selectAll()
    .where('code_hash', '=', codeHash)
    .executeTakeFirst()
}

export async function findPromoCode(db: Db, id: string) {
  return db.selectFrom('promo_code').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listPromoCodes(db: Db, limit: number) {
  return db.selectFrom('promo_code').selectAll().orderBy('id', 'desc').limit(limit).execute()
}

export async function disablePromoCode(db: Db, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('promo_code')
    .set({ disabled_at: now })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** True when this call inserted the row; false when the user redeemed this code before. */
export async function insertRedemption(db: Db, row: PromoRedemptionRow): Promise<boolean> {
  const result = await db
    .insertInto('promo_redemption')
    .values(row)
    .onConflict((oc) => oc.columns(['code_id', 'user_id']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

/** One use of a live code, or false when it is used up, expired or disabled: one statement. */
export async function takeUse(db: Db, codeId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('promo_code')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('id', '=', codeId)
    .where('disabled_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export interface RedemptionView extends PromoRedemptionRow {
  kind: PromoCodeRow['kind']
  label: string
  hint: string
  plan_id: string | null
  pack_id: string | null
  days: number | null
  percent_off: number | null
}

function redemptionsWithCode(db: Db) {
  return db
    .selectFrom('promo_redemption as r')
    .innerJoin('promo_code as p', 'p.id', 'r.code_id')
    .selectAll('r')
    .select(['p.kind', 'p.label', 'p.hint', 'p.plan_id', 'p.pack_id', 'p.days', 'p.percent_off'])
}

export async function listRedemptions(
  db: Db,
  filter: { userId?: string; codeId?: string; limit: number },
): Promise<RedemptionView[]> {
  let query = redemptionsWithCode(db)
  if (filter.userId) query = query.where('r.user_id', '=', filter.userId)
  if (filter.codeId) query = query.where('r.code_id', '=', filter.codeId)
  return query
    .orderBy('r.redeemed_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(filter.limit)
    .execute()
}

/** The user's discounts that no checkout holds, oldest first. */
export async function unclaimedDiscounts(db: Db, userId: string): Promise<RedemptionView[]> {
  return redemptionsWithCode(db)
    .where('r.user_id', '=', userId)
    .where('p.kind', '=', 'discount')
    .where('r.transaction_id', 'is', null)
    .where('r.spent_at', 'is', null)
    .orderBy('r.redeemed_at')
    .orderBy('r.id')
    .execute()
}

/** Binds a discount to a checkout; false when another checkout took it first. */
export async function claimDiscount(
  db: Db,
  redemptionId: string,
  transactionId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('promo_redemption')
    .set({ transaction_id: transactionId })
    .where('id', '=', redemptionId)
    .where('transaction_id', 'is', null)
    .where('spent_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** The discounted payment succeeded: the discount is spent. */
export async function spendDiscount(db: Db, transactionId: string, now: number): Promise<void> {
  await db
    .updateTable('promo_redemption')
    .set({ spent_at: now })
    .where('transaction_id', '=', transactionId)
    .where('spent_at', 'is', null)
    .execute()
}

/** The discounted payment ended unpaid: the discount waits for the next checkout again. */
export async function releaseDiscount(db: Db, transactionId: string): Promise<void> {
  await db
    .updateTable('promo_redemption')
    .set({ transaction_id: null })
    .where('transaction_id', '=', transactionId)
    .where('spent_at', 'is', null)
    .execute()
}
