import type { Db } from '../../db/tables.ts'
import { claimDiscount, unclaimedDiscounts } from './promo-codes.repo.ts'

export interface ClaimedDiscount {
  redemption_id: string
  code_id: string
  percentOff: number
}

/**
 * The payer's oldest redeemed discount that fits `planId` (a code for one plan,
 * or for any), bound to this checkout's transaction. Null when there is none,
 * or when a concurrent checkout of the same payer took each candidate first:
 * that checkout pays the discounted price, this one the full price.
 */
export async function claimPromoDiscount(
  db: Db,
  userId: string,
  planId: string,
  transactionId: string,
): Promise<ClaimedDiscount | null> {
  for (const candidate of await unclaimedDiscounts(db, userId)) {
    if (candidate.plan_id !== null && candidate.plan_id !== planId) continue
    if (await claimDiscount(db, candidate.id, transactionId)) {
      return {
        redemption_id: candidate.id,
        code_id: candidate.code_id,
        percentOff: candidate.percent_off!,
      }
    }
  }
  return null
}

/**
 * The price after `percentOff`, in whole kopecks. The discount is rounded down,
 * so the price never drops by more than the code says.
 */
export function discountedPrice(priceKopecks: number, percentOff: number): number {
  return priceKopecks - Math.floor((priceKopecks * percentOff) / 100)
}
