import type { TransactionRow } from '../../db/tables.ts'
import type { Principal } from '../auth/principal.ts'
import { planFromRow } from '../billing/plan.ts'
import { findPlan } from '../billing/plans.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { formatMoney } from '../lib/money.ts'
import type { CreatePaymentRequest, YooKassaClient } from '../yookassa/client.ts'
import { isYooKassaError } from '../yookassa/errors.ts'
import { inTransaction, mergeMeta } from './apply-helpers.ts'
import { applyPayment } from './apply-payment.ts'
import { buildPaymentRequest } from './payment-request.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { releaseDiscount } from './promo-codes.repo.ts'
import { claimPromoDiscount, discountedPrice } from './promo-discount.ts'
import { normalizeReturnUrl } from './return-url.ts'
import { newTransactionRow } from './transaction-row.ts'
import {
  bindProviderId,
  insertTransaction,
  moveTransactionStatus,
  saveConfirmationUrl,
} from './transactions.repo.ts'

export interface CheckoutResult {
  transaction_id: string
  payment_id: string
  status: string
  confirmation_url: string | null
  amount: string
  currency: string
  plan_id: string
}

/**
 * POST /payment: the pending transaction row (with its Idempotence-Key and
 * the exact request body) is committed BEFORE YooKassa is called. If the
 * process dies after YooKassa created the payment, nothing is lost: the
 * notification finds the row by the transaction id in the payment's
 * metadata, and the reconciliation job replays the stored request under the
 * stored key, which YooKassa answers with the same payment.
 */
export async function createCheckout(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger' | 'yookassa'
  >,
  principal: Principal,
  input: { planId: string; returnUrl: string },
): Promise<CheckoutResult> {
  const yookassa = deps.yookassa
  if (!yookassa) {
    throw new DomainError('billing_not_configured', 'Payments are not configured on this gateway')
  }
  const row = await findPlan(deps.database.db, input.planId)
  if (!row?.is_active) throw new DomainError('not_found', `No active plan ${input.planId}`)
  const plan = planFromRow(row)
  if (plan.price <= 0 || plan.id === (await deps.defaultPlan.id(deps.database.db))) {
    throw new DomainError('invalid_request', `Plan ${plan.id} is free and needs no payment`, {
      param: 'plan_id',
    })
  }
  const returnUrl = normalizeReturnUrl(deps.config, input.returnUrl)
  if (deps.config.yookassa.receipt.enabled && !principal.email) {
    throw new DomainError('invalid_request', 'A receipt (54-FZ) needs an email in the token', {
      param: 'email',
    })
  }

  const now = nowSeconds(deps.clock)
  const transactionId = deps.ids.next()
  const idempotenceKey = deps.ids.next()
  // The discount and the transaction row commit together: a discount is held by
  // one checkout at a time, and goes back to the payer if that payment is canceled.
  const { transaction, request } = await inTransaction(deps, async (trx) => {
    const discount = await claimPromoDiscount(trx, principal.userId, plan.id, transactionId)
    const price = discount ? discountedPrice(plan.price, discount.percentOff) : plan.price
    const request = buildPaymentRequest({
      config: deps.config,
      plan,
      transactionId,
      userId: principal.userId,
      kind: 'payment',
      email: principal.email,
      returnUrl,
      priceKopecks: price,
    })
    const row = newTransactionRow({
      id: transactionId,
      user_id: principal.userId,
      plan_id: plan.id,
      kind: 'payment',
      amount: price,
      currency: plan.currency,
      idempotence_key: idempotenceKey,
      description: request.description,
      metadata: discount
        ? { request, promo: { ...discount, full_price: plan.price } }
        : { request },
      now,
    })
    await insertTransaction(trx, row)
    return { transaction: row, request }
  })

  const { payment, status } = await sendPayment(deps, yookassa, transaction, request)
  deps.logger.info(
    {
      transactionId,
      paymentId: payment.id,
      userId: principal.userId,
      planId: plan.id,
      amount: transaction.amount,
    },
    'BILLING payment created',
  )
  return {
    transaction_id: transactionId,
    payment_id: payment.id,
    status,
    confirmation_url: payment.confirmation?.confirmation_url ?? null,
    amount: formatMoney(transaction.amount),
    currency: plan.currency,
    plan_id: plan.id,
  }
}

/**
 * Sends a checkout's stored request under its stored key and applies an answer
 * that is final already; shared by plans and prepaid packs (pack-checkout.service.ts).
 */
export async function sendPayment(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  transaction: TransactionRow,
  request: CreatePaymentRequest,
) {
  const transactionId = transaction.id
  const idempotenceKey = transaction.idempotence_key!
  let payment: Awaited<ReturnType<typeof yookassa.createPayment>>
  try {
    payment = await yookassa.createPayment(request, idempotenceKey)
  } catch (error) {
    if (isYooKassaError(error) && !error.transient) {
      // A 4xx is final: this attempt is over (a new one gets a new key).
      await moveTransactionStatus(deps.database.db, transactionId, ['pending'], 'canceled', {
        metadata: mergeMeta(transaction, {
          error: { code: error.code, description: error.description },
        }),
        now: nowSeconds(deps.clock),
      })
      await releaseDiscount(deps.database.db, transactionId)
      deps.logger.error(
        { transactionId, code: error.code, status: error.status },
        'BILLING YooKassa refused the payment',
      )
      throw new DomainError('upstream_error', `YooKassa refused the payment: ${error.code}`)
    }
    deps.logger.error(
      { transactionId, err: error },
      'BILLING YooKassa unreachable, payment left pending',
    )
    throw new DomainError('provider_unavailable', 'The payment provider is unavailable, try again')
  }
  await bindProviderId(deps.database.db, transactionId, payment.id, nowSeconds(deps.clock))
  const confirmationUrl = payment.confirmation?.confirmation_url
  if (confirmationUrl && payment.status === 'pending') {
    const withUrl = mergeMeta(transaction, { confirmation_url: confirmationUrl })
    await saveConfirmationUrl(deps.database.db, transactionId, transaction.metadata, withUrl)
  }
  let status: string = 'pending'
  if (payment.status !== 'pending') {
    const bound = { ...transaction, provider_payment_id: payment.id }
    const applied = await applyPayment(deps, yookassa, bound, payment)
    status = applied.outcome === 'credited' ? 'succeeded' : payment.status
  }
  return { payment, status }
}
