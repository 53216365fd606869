import type { TransactionRow } from '../../db/tables.ts'
import { findPack } from '../billing/packs.repo.ts'
import { creditPack } from '../ledger/packs/holdings.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { Payment } from '../yookassa/schemas.ts'
import { inTransaction, mergeMeta } from './apply-helpers.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { moveTransactionStatus } from './transactions.repo.ts'

const OPEN = ['pending', 'waiting_for_capture'] as const

/**
 * A succeeded payment for a prepaid pack: the status move and the pack's
 * credit commit together, exactly once (whoever moves the row credits; the
 * holding is unique per payment besides), at the price the row was created
 * with and the pack as it is sold now.
 */
export async function creditPackPayment(
  deps: Pick<PaymentsDeps, 'clock' | 'database' | 'ids' | 'logger'>,
  transaction: TransactionRow,
  payment: Payment,
) {
  const now = nowSeconds(deps.clock)
  const credited = await inTransaction(deps, async (trx) => {
    const moved = await moveTransactionStatus(trx, transaction.id, OPEN, 'succeeded', {
      provider_payment_id: payment.id,
      metadata: mergeMeta(transaction, { paid_at: payment.captured_at ?? null }),
      now,
    })
    if (!moved) return null
    const pack = transaction.pack_id ? await findPack(trx, transaction.pack_id) : undefined
    if (!pack)
      throw new Error(`pack ${transaction.pack_id} of transaction ${transaction.id} is gone`)
    const holdingId = deps.ids.next()
    const sold = {
      id: pack.id,
      metric: pack.metric,
      amount: Number(pack.amount),
      price: transaction.amount,
      currency: transaction.currency,
      validity_days: pack.validity_days,
    }
    const input = { holdingId, entryId: deps.ids.next(), userId: transaction.user_id, now }
    const fresh = await creditPack(trx, { ...input, pack: sold, transactionId: transaction.id })
    return fresh ? { holdingId, ...sold } : null
  })
  if (!credited) return { outcome: 'duplicate' as const }
  deps.logger.info(
    {
      transactionId: transaction.id,
      paymentId: payment.id,
      userId: transaction.user_id,
      packId: credited.id,
      holdingId: credited.holdingId,
      amount: credited.amount,
      metric: credited.metric,
    },
    'BILLING pack payment succeeded, pack credited',
  )
  return { outcome: 'credited' as const }
}
