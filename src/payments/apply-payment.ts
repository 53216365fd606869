import type { Transaction } from 'kysely'
import type { DB, TransactionRow } from '../../db/tables.ts'
import { planFromRow } from '../billing/plan.ts'
import { findPlan } from '../billing/plans.repo.ts'
import { applyPaidPeriod } from '../billing/subscription-changes.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { YooKassaClient } from '../yookassa/client.ts'
import type { Payment } from '../yookassa/schemas.ts'
import { inTransaction, mergeMeta } from './apply-helpers.ts'
import { creditPackPayment } from './pack-credit.ts'
import { paymentMismatches } from './payment-match.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { releaseDiscount, spendDiscount } from './promo-codes.repo.ts'
import { markRenewalFailed } from './renewal-failure.ts'
import { testPaymentsAllowed } from './test-payments.ts'
import { moveTransactionStatus } from './transactions.repo.ts'

export type ApplyOutcome = 'credited' | 'canceled' | 'waiting' | 'duplicate' | 'rejected'

/** Statuses a payment row may leave: status only moves forward, final rows never change. */
const OPEN = ['pending', 'waiting_for_capture'] as const

/**
 * Applies what YooKassa says about a payment (an object read by GET, or the
 * answer of our own create/capture call) to its transaction, exactly once:
 * the conditional status move and the subscription change commit together,
 * so a repeat, a stale state or a concurrent delivery finds the row already
 * moved and changes nothing ('duplicate'). Shared by the webhook, the
 * reconciliation job, checkout and renewals.
 */
export async function applyPayment(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  transaction: TransactionRow,
  payment: Payment,
): Promise<{ outcome: ApplyOutcome; detail?: string }> {
  const log = deps.logger
  const base = { transactionId: transaction.id, paymentId: payment.id, userId: transaction.user_id }
  const problems = paymentMismatches(transaction, payment, {
    shopId: yookassa.shopId,
    allowTestPayments: payment.test && (await testPaymentsAllowed(deps, yookassa)),
  })
  if (problems.length > 0) {
    log.error(
      { ...base, status: payment.status, problems },
      'BILLING payment does not match its transaction, not credited',
    )
    if (payment.status === 'waiting_for_capture') {
      // Money is only held: release it rather than keep what we will not credit.
      payment = await yookassa.cancelPayment(payment.id, `cancel-${transaction.id}`)
    }
    if (payment.status !== 'pending') {
      const metadata = mergeMeta(transaction, {
        rejected: problems,
        provider_status: payment.status,
      })
      const now = nowSeconds(deps.clock)
      await moveTransactionStatus(deps.database.db, transaction.id, OPEN, 'canceled', {
        metadata,
        now,
      })
      await releaseDiscount(deps.database.db, transaction.id)
    }
    return { outcome: 'rejected', detail: problems.join('; ') }
  }

  switch (payment.status) {
    case 'pending':
      return { outcome: 'waiting' }
    case 'waiting_for_capture': {
      // Two-stage payment that matches: take the money. The key is derived from the
      // transaction, so every replica and every redelivery sends the same one.
      const now = nowSeconds(deps.clock)
      await moveTransactionStatus(
        deps.database.db,
        transaction.id,
        ['pending'],
        'waiting_for_capture',
        {
          provider_payment_id: payment.id,
          now,
        },
      )
      const captured = await yookassa.capturePayment(
        payment.id,
        payment.amount,
        `capture-${transaction.id}`,
      )
      if (captured.status === 'waiting_for_capture') return { outcome: 'waiting' }
      return applyPayment(deps, yookassa, transaction, captured)
    }
    case 'succeeded':
      if (transaction.pack_id) return creditPackPayment(deps, transaction, payment)
      return credit(deps, transaction, payment)
    case 'canceled':
      return cancel(deps, transaction, payment)
  }
}

async function credit(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  transaction: TransactionRow,
  payment: Payment,
) {
  const now = nowSeconds(deps.clock)
  // Only a method YooKassa actually saved can be charged later (docs/reference/yookassa.md section 9).
  const savedMethod = payment.payment_method?.saved ? payment.payment_method.id : null
  const result = await inTransaction(deps, async (trx) => {
    const moved = await moveTransactionStatus(trx, transaction.id, OPEN, 'succeeded', {
      provider_payment_id: payment.id,
      metadata: mergeMeta(transaction, { paid_at: payment.captured_at ?? null }),
      now,
    })
    if (!moved) return null
    const plan = transaction.plan_id ? await findPlan(trx, transaction.plan_id) : undefined
    if (!plan)
      throw new Error(`plan ${transaction.plan_id} of transaction ${transaction.id} is gone`)
    await spendDiscount(trx, transaction.id, now)
    return applyPaidPeriod(deps, trx, {
      userId: transaction.user_id,
      plan: planFromRow(plan),
      now,
      paymentMethodId: savedMethod,
    })
  })
  if (!result) return { outcome: 'duplicate' as const }
  deps.entitlements.invalidate(transaction.user_id)
  deps.logger.info(
    {
      transactionId: transaction.id,
      paymentId: payment.id,
      userId: transaction.user_id,
      planId: result.plan_id,
      kind: transaction.kind,
      paidUntil: result.paid_until,
      autoRenew: result.auto_renew === 1,
    },
    'BILLING payment succeeded, subscription updated',
  )
  return { outcome: 'credited' as const }
}

async function cancel(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  transaction: TransactionRow,
  payment: Payment,
) {
  const now = nowSeconds(deps.clock)
  const reason = payment.cancellation_details?.reason ?? 'unknown'
  const party = payment.cancellation_details?.party ?? 'unknown'
  const moved = await inTransaction(deps, async (trx: Transaction<DB>) => {
    const ok = await moveTransactionStatus(trx, transaction.id, OPEN, 'canceled', {
      provider_payment_id: payment.id,
      metadata: mergeMeta(transaction, { cancellation: { party, reason } }),
      now,
    })
    if (ok && transaction.kind === 'renewal')
      await markRenewalFailed(deps, trx, transaction, reason, now)
    // A promo discount held by this payment waits for the next checkout.
    if (ok) await releaseDiscount(trx, transaction.id)
    return ok
  })
  if (!moved) return { outcome: 'duplicate' as const }
  if (transaction.kind === 'renewal') deps.entitlements.invalidate(transaction.user_id)
  deps.logger.info(
    { transactionId: transaction.id, paymentId: payment.id, kind: transaction.kind, party, reason },
    'BILLING payment canceled',
  )
  return { outcome: 'canceled' as const }
}

/**
 * Gives up on an open transaction locally (YooKassa never confirmed it in
 * time, or the request could not be sent within the key's 24 h window).
 * A renewal that expires counts as a failed charge for its subscription.
 */
export async function expireTransaction(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  transaction: TransactionRow,
  why: string,
) {
  const now = nowSeconds(deps.clock)
  const moved = await inTransaction(deps, async (trx) => {
    const ok = await moveTransactionStatus(trx, transaction.id, OPEN, 'canceled', {
      metadata: mergeMeta(transaction, { cancellation: { party: 'gateway', reason: why } }),
      now,
    })
    if (ok && transaction.kind === 'renewal')
      await markRenewalFailed(deps, trx, transaction, why, now)
    // A promo discount held by this payment waits for the next checkout.
    if (ok) await releaseDiscount(trx, transaction.id)
    return ok
  })
  if (moved) {
    if (transaction.kind === 'renewal') deps.entitlements.invalidate(transaction.user_id)
    deps.logger.warn(
      { transactionId: transaction.id, kind: transaction.kind, why },
      'BILLING transaction expired',
    )
  }
  return moved
}
