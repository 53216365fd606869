import type { Transaction } from 'kysely'
import type { DB, Db, TransactionRow } from '../../db/tables.ts'
import { endNowToDefault } from '../billing/subscription-changes.ts'
import { findLiveSubscription } from '../billing/subscriptions.repo.ts'
import { reopenPackAfterRefund, writeRefundEntry } from '../ledger/packs/holdings.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { notifyOperator } from '../notify/notify.ts'
import type { Refund } from '../yookassa/schemas.ts'
import { inTransaction, mergeMeta } from './apply-helpers.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { newTransactionRow } from './transaction-row.ts'
import {
  addRefundedAmount,
  findTransaction,
  findTransactionByProviderId,
  insertTransactionIfAbsent,
  moveTransactionStatus,
} from './transactions.repo.ts'

export type RefundOutcome =
  | 'refunded'
  | 'canceled'
  | 'waiting'
  | 'duplicate'
  | 'unknown'
  | 'rejected'

/**
 * Applies a refund as YooKassa shows it (GET /refunds/{id}), exactly once:
 * the refund's own row is the guard (pending -> succeeded, or inserted with
 * the unique refund id for a refund made in YooKassa's cabinet), and the
 * payment row's refunded_amount, its status and the subscription change
 * commit with it.
 *
 * Refund policy: a FULL refund (everything paid on that payment returned)
 * revokes what it bought: a user still on that plan returns to the default
 * plan now. A PARTIAL refund is a goodwill gesture: the paid period is kept.
 */
export async function applyRefund(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  refund: Refund,
): Promise<{ outcome: RefundOutcome }> {
  const payment = await findTransactionByProviderId(deps.database.db, refund.payment_id)
  if (!payment || payment.kind === 'refund') return { outcome: 'unknown' }
  if (refund.status === 'pending') return { outcome: 'waiting' }
  const now = nowSeconds(deps.clock)

  if (refund.status === 'canceled') {
    // There is no refund.canceled notification: the reconciliation job finds these by polling.
    const row = await findRefundRow(deps.database.db, refund)
    const reason = refund.cancellation_details?.reason ?? 'unknown'
    const moved =
      row &&
      (await moveTransactionStatus(deps.database.db, row.id, ['pending'], 'canceled', {
        provider_payment_id: refund.id,
        metadata: mergeMeta(row, { cancellation: { reason } }),
        now,
      }))
    if (moved && payment.pack_id) await reopenPackAfterRefund(deps.database.db, payment.id)
    if (moved) deps.logger.warn({ refundId: refund.id, reason }, 'BILLING refund canceled')
    return { outcome: moved ? 'canceled' : 'duplicate' }
  }

  if (refund.amount.currency !== payment.currency) {
    deps.logger.error({ refundId: refund.id }, 'BILLING refund currency differs from its payment')
    return { outcome: 'rejected' }
  }
  const result = await inTransaction(deps, async (trx) => {
    if (!(await claimRefund(trx, payment, refund, now, deps.ids.next()))) return null
    await addRefundedAmount(trx, payment.id, refund.amount.kopecks, now)
    // A pack's refund takes its free units off the pack's ledger, once, with the refund's claim.
    if (payment.pack_id) await writeRefundEntry(trx, payment.id, deps.ids.next(), now)
    const fresh = await findTransaction(trx, payment.id)
    const full = !!fresh && fresh.refunded_amount >= fresh.amount
    let revoked = false
    if (full) {
      const live = await findLiveSubscription(trx, payment.user_id)
      if (live && live.plan_id === payment.plan_id && live.paid_until !== null) {
        await endNowToDefault(deps, trx, { userId: payment.user_id, now, endAs: 'canceled' })
        revoked = true
      }
    }
    // Recorded with the refund itself: the operator hears of each refund once, whoever made it.
    await notifyOperator(
      deps,
      {
        type: 'refund.succeeded',
        dedupeKey: `refund:${refund.id}`,
        data: {
          user_id: payment.user_id,
          transaction_id: payment.id,
          refund_id: refund.id,
          amount: refund.amount.kopecks,
          currency: refund.amount.currency,
          refunded_total: fresh?.refunded_amount ?? 0,
          full,
          plan_revoked: revoked,
        },
      },
      trx,
    )
    return { full, revoked, refunded: fresh?.refunded_amount ?? 0 }
  })
  if (!result) return { outcome: 'duplicate' }
  deps.entitlements.invalidate(payment.user_id)
  deps.logger.info(
    {
      transactionId: payment.id,
      refundId: refund.id,
      userId: payment.user_id,
      amount: refund.amount.kopecks,
      ...result,
    },
    'BILLING refund succeeded',
  )
  return { outcome: 'refunded' }
}

/** Our row for this refund: bound to its id, or created by us and named in its metadata. */
async function findRefundRow(db: Db, refund: Refund) {
  const bound = await findTransactionByProviderId(db, refund.id)
  if (bound) return bound
  const ours = refund.metadata?.transaction_id
  const row = ours ? await findTransaction(db, ours) : undefined
  return row && row.kind === 'refund' && row.provider_payment_id === null ? row : undefined
}

/** Wins (true) exactly once per refund id, whoever applies it first. */
async function claimRefund(
  trx: Transaction<DB>,
  payment: TransactionRow,
  refund: Refund,
  now: number,
  newId: string,
) {
  const row = await findRefundRow(trx, refund)
  if (row) {
    return moveTransactionStatus(trx, row.id, ['pending'], 'succeeded', {
      provider_payment_id: refund.id,
      now,
    })
  }
  // Made outside the gateway (the YooKassa dashboard): no request of ours, so no key.
  const outside = newTransactionRow({
    id: newId,
    user_id: payment.user_id,
    plan_id: payment.plan_id,
    kind: 'refund',
    amount: refund.amount.kopecks,
    currency: refund.amount.currency,
    status: 'succeeded',
    provider_payment_id: refund.id,
    idempotence_key: null,
    description: refund.description ?? 'Refund made outside the gateway',
    metadata: { payment_transaction_id: payment.id },
    parent_id: payment.id,
    now,
  })
  return insertTransactionIfAbsent(trx, outside)
}
