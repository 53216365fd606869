import type { Principal } from '../auth/principal.ts'
import { findPack } from '../billing/packs.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { formatMoney } from '../lib/money.ts'
import type { CreatePaymentRequest } from '../yookassa/client.ts'
import { sendPayment } from './checkout.service.ts'
import { clip } from './payment-request.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { normalizeReturnUrl } from './return-url.ts'
import { newTransactionRow } from './transaction-row.ts'
import { insertTransaction } from './transactions.repo.ts'

/**
 * POST /payment with a pack_id: a one-time YooKassa payment for a prepaid pack
 * (docs/billing-api.md, "Prepaid packs"), on the plans' path: the pending row
 * (naming the pack it buys) and its Idempotence-Key commit before the call,
 * the webhook and the reconciliation apply it exactly once, and the credit is
 * one holding per payment (apply-payment.ts, ledger/packs/holdings.repo.ts).
 * Never saves the card: a pack is not renewed.
 */
export async function createPackCheckout(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger' | 'yookassa'
  >,
  principal: Principal,
  input: { packId: string; returnUrl: string },
) {
  const yookassa = deps.yookassa
  if (!yookassa) {
    throw new DomainError('billing_not_configured', 'Payments are not configured on this gateway')
  }
  const pack = await findPack(deps.database.db, input.packId)
  if (!pack?.is_active) {
    throw new DomainError('not_found', `No active pack ${input.packId}`, { param: 'pack_id' })
  }
  const price = Number(pack.price)
  if (price <= 0) {
    throw new DomainError('invalid_request', `Pack ${pack.id} has no price`, { param: 'pack_id' })
  }
  const returnUrl = normalizeReturnUrl(deps.config, input.returnUrl)
  const { receipt } = deps.config.yookassa
  if (receipt.enabled && !principal.email) {
    throw new DomainError('invalid_request', 'A receipt (54-FZ) needs an email in the token', {
      param: 'email',
    })
  }
  const transactionId = deps.ids.next()
  const amount = { kopecks: price, currency: pack.currency }
  const description = clip(`Prepaid pack: ${pack.name}`, 128)
  const request: CreatePaymentRequest = {
    amount,
    capture: true,
    description,
    metadata: {
      transaction_id: transactionId,
      user_id: clip(principal.userId, 512),
      pack_id: clip(pack.id, 512),
      kind: 'payment',
    },
    confirmation: { type: 'redirect', return_url: returnUrl },
  }
  if (receipt.enabled && principal.email) {
    // 54-FZ: one item, the pack, for the whole amount.
    request.receipt = {
      customer: { email: principal.email },
      items: [
        {
          description: clip(pack.name, 128),
          quantity: 1,
          amount,
          vat_code: receipt.vatCode,
          payment_subject: 'service',
          payment_mode: 'full_payment',
        },
      ],
    }
  }
  const transaction = newTransactionRow({
    id: transactionId,
    user_id: principal.userId,
    plan_id: null,
    pack_id: pack.id,
    kind: 'payment',
    amount: price,
    currency: pack.currency,
    idempotence_key: deps.ids.next(),
    description,
    metadata: { request },
    now: nowSeconds(deps.clock),
  })
  await insertTransaction(deps.database.db, transaction)
  const { payment, status } = await sendPayment(deps, yookassa, transaction, request)
  deps.logger.info(
    {
      transactionId,
      paymentId: payment.id,
      userId: principal.userId,
      packId: pack.id,
      amount: price,
    },
    'BILLING pack payment created',
  )
  return {
    transaction_id: transactionId,
    payment_id: payment.id,
    status,
    confirmation_url: payment.confirmation?.confirmation_url ?? null,
    amount: formatMoney(price),
    currency: pack.currency,
    pack_id: pack.id,
  }
}
