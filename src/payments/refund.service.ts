import type { TransactionRow } from '../../db/tables.ts'
import {
  closePackForRefund,
  reopenPackAfterRefund,
  unusedValue,
} from '../ledger/packs/holdings.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { CreateRefundRequest, YooKassaClient } from '../yookassa/client.ts'
import { isYooKassaError } from '../yookassa/errors.ts'
import { mergeMeta, readMeta } from './apply-helpers.ts'
import { applyRefund } from './apply-refund.ts'
import { clip } from './payment-request.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { newTransactionRow } from './transaction-row.ts'
import {
  bindProviderId,
  countPendingRefunds,
  findTransaction,
  insertTransaction,
  moveTransactionStatus,
} from './transactions.repo.ts'

/**
 * An admin refunds a payment fully (no amount) or partly. Like checkout, the
 * refund row and its Idempotence-Key are committed before YooKassa is called,
 * and the stored request is what a retry or the reconciliation job replays.
 * One refund at a time per payment: a second while one is pending is 409.
 */
export async function refundTransaction(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger' | 'yookassa'
  >,
  input: { transactionId: string; amount?: number; adminId: string },
): Promise<{ refund: TransactionRow; payment: TransactionRow }> {
  const yookassa = requireClient(deps)
  const { db } = deps.database
  const payment = await findTransaction(db, input.transactionId)
  if (!payment || payment.kind === 'refund') throw new DomainError('not_found', 'No such payment')
  if (!['succeeded', 'refunded'].includes(payment.status) || !payment.provider_payment_id) {
    throw new DomainError('conflict', `A ${payment.status} transaction cannot be refunded`)
  }
  if ((await countPendingRefunds(db, payment.id)) > 0) {
    throw new DomainError('conflict', 'A refund of this payment is still pending')
  }
  let remaining = payment.amount - payment.refunded_amount
  if (payment.pack_id) remaining = await refundablePackValue(deps, payment)
  const amount = input.amount ?? remaining
  if (amount <= 0 || amount > remaining) {
    if (payment.pack_id) await reopenPackAfterRefund(db, payment.id)
    throw new DomainError(
      'invalid_request',
      `Refund amount must be between 0.01 and what remains`,
      {
        param: 'amount',
      },
    )
  }

  const now = nowSeconds(deps.clock)
  const id = deps.ids.next()
  const request: CreateRefundRequest = {
    payment_id: payment.provider_payment_id,
    amount: { kopecks: amount, currency: payment.currency },
    description: clip(`Refund: ${payment.description ?? payment.id}`, 250),
    metadata: { transaction_id: id, payment_transaction_id: payment.id },
  }
  const receipt = refundReceipt(deps, payment, amount)
  if (receipt) request.receipt = receipt
  const row = newTransactionRow({
    id,
    user_id: payment.user_id,
    plan_id: payment.plan_id,
    kind: 'refund',
    amount,
    currency: payment.currency,
    idempotence_key: deps.ids.next(),
    description: request.description ?? null,
    metadata: { payment_transaction_id: payment.id, requested_by: input.adminId, request },
    parent_id: payment.id,
    pack_id: payment.pack_id,
    now,
  })
  await insertTransaction(db, row)
  await sendRefund(deps, yookassa, row)
  return {
    refund: (await findTransaction(db, id))!,
    payment: (await findTransaction(db, payment.id))!,
  }
}

/**
 * Sends (or re-sends, same key and body) a stored refund request and applies
 * the answer. Used by the admin route and by reconciliation.
 */
export async function sendRefund(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  row: TransactionRow,
) {
  const request = readMeta(row).request as CreateRefundRequest
  try {
    const refund = await yookassa.createRefund(request, row.idempotence_key!)
    await bindProviderId(deps.database.db, row.id, refund.id, nowSeconds(deps.clock))
    deps.logger.info(
      { transactionId: row.id, refundId: refund.id, status: refund.status },
      'BILLING refund requested',
    )
    await applyRefund(deps, refund)
  } catch (error) {
    if (isYooKassaError(error) && !error.transient) {
      if (row.pack_id && row.parent_id) await reopenPackAfterRefund(deps.database.db, row.parent_id)
      await moveTransactionStatus(deps.database.db, row.id, ['pending'], 'canceled', {
        metadata: mergeMeta(row, { error: { code: error.code, description: error.description } }),
        now: nowSeconds(deps.clock),
      })
      deps.logger.error(
        { transactionId: row.id, code: error.code },
        'BILLING YooKassa refused the refund',
      )
      throw new DomainError('upstream_error', `YooKassa refused the refund: ${error.code}`)
    }
    deps.logger.error(
      { transactionId: row.id, err: error },
      'BILLING refund left pending, YooKassa unreachable',
    )
    throw new DomainError(
      'provider_unavailable',
      'The payment provider is unavailable; the refund will be retried',
    )
  }
}

/**
 * A pack's payment refunds at most its unused part, pro rata: price x free units / amount,
 * rounded down (docs/billing-api.md, "Prepaid packs"). Asking closes the pack at once, so
 * nothing more is spent from it while the refund is on its way; a refund that fails
 * reopens it. A pack closed already (refunded, expired) has nothing to refund.
 */
async function refundablePackValue(
  deps: Pick<PaymentsDeps, 'clock' | 'database'>,
  payment: TransactionRow,
) {
  const closed = await closePackForRefund(deps.database.db, payment.id, nowSeconds(deps.clock))
  if (!closed) throw new DomainError('conflict', 'This pack is refunded or expired already')
  return Math.min(
    unusedValue(closed.price, closed.amount, closed.unused),
    payment.amount - payment.refunded_amount,
  )
}

/** With fiscalization on, a refund needs its own receipt, to the payment's customer. */
function refundReceipt(
  deps: Pick<PaymentsDeps, 'config'>,
  payment: TransactionRow,
  amount: number,
) {
  if (!deps.config.yookassa.receipt.enabled) return undefined
  const paid = readMeta(payment).request as { receipt?: CreateRefundRequest['receipt'] } | undefined
  const first = paid?.receipt?.items[0]
  if (!paid?.receipt || !first) return undefined
  return {
    customer: paid.receipt.customer,
    items: [{ ...first, amount: { kopecks: amount, currency: payment.currency } }],
  }
}

function requireClient(deps: Pick<PaymentsDeps, 'yookassa'>): YooKassaClient {
  if (!deps.yookassa) {
    throw new DomainError('billing_not_configured', 'Payments are not configured on this gateway')
  }
  return deps.yookassa
}
