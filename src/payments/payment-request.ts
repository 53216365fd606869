import type { Plan } from '../billing/plan.ts'
import type { Config } from '../config/schema.ts'
import type { CreatePaymentRequest, Receipt } from '../yookassa/client.ts'

/** YooKassa limits (docs/reference/yookassa.md section 2): description 128 chars, metadata values 512. */
const MAX_DESCRIPTION = 128
const MAX_META_VALUE = 512

const PERIOD_WORD = { day: 'day', week: 'week', month: 'month', year: 'year' } as const

/**
 * The body of a YooKassa payment for one period of `plan`. It is stored in
 * the transaction row before the call and sent from there, so a retry or a
 * replay after a crash sends the identical body with the same
 * Idempotence-Key (a different body under the same key is a 400).
 */
export function buildPaymentRequest(input: {
  config: Readonly<Config>
  plan: Plan
  transactionId: string
  userId: string
  kind: 'payment' | 'renewal'
  email: string | null
  /** Checkout: the payer confirms on YooKassa's page and comes back here. */
  returnUrl?: string
  /** Renewal: charge the saved method, no confirmation. */
  paymentMethodId?: string
  /** The price after a promo code's discount; the plan's price when absent. */
  priceKopecks?: number
}): CreatePaymentRequest {
  const { config, plan } = input
  const price = input.priceKopecks ?? plan.price
  const amount = { kopecks: price, currency: plan.currency }
  const description = clip(
    `${input.kind === 'renewal' ? 'Renewal' : 'Subscription'}: ${plan.name}, 1 ${PERIOD_WORD[plan.interval]}`,
    MAX_DESCRIPTION,
  )
  const request: CreatePaymentRequest = {
    amount,
    capture: true,
    description,
    metadata: {
      transaction_id: input.transactionId,
      user_id: clip(input.userId, MAX_META_VALUE),
      plan_id: clip(plan.id, MAX_META_VALUE),
      kind: input.kind,
    },
  }
  if (input.paymentMethodId) request.payment_method_id = input.paymentMethodId
  if (input.returnUrl) {
    request.confirmation = { type: 'redirect', return_url: input.returnUrl }
    // Ask YooKassa to keep the card only when the gateway will renew with it.
    if (config.yookassa.autoRenew) request.save_payment_method = true
  }
  if (config.yookassa.receipt.enabled && input.email) {
    request.receipt = receiptFor(plan, price, input.email, config.yookassa.receipt.vatCode)
  }
  return request
}

/**
 * 54-FZ: one item, the plan, for the whole amount (the item sum must equal the
 * payment): a discounted payment's receipt states the discounted price.
 */
function receiptFor(plan: Plan, price: number, email: string, vatCode: number): Receipt {
  return {
    customer: { email },
    items: [
      {
        description: clip(plan.name, MAX_DESCRIPTION),
        quantity: 1,
        amount: { kopecks: price, currency: plan.currency },
        vat_code: vatCode,
        payment_subject: 'service',
        payment_mode: 'full_payment',
      },
    ],
  }
}

/** Cuts by code points, so a Cyrillic or emoji name is never split mid-character. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text)
  return chars.length <= max ? text : chars.slice(0, max).join('')
}
