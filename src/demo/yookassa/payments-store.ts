import { randomUUID } from 'node:crypto'
import {
  canonical,
  card,
  cents,
  error,
  type Json,
  MONEY,
  money,
  publicView,
  succeed,
  validatePaymentBody,
} from './wire.ts'

/**
 * The state of a simulated YooKassa shop, written from docs/reference/yookassa.md:
 * payments and their status moves, capture/cancel, refunds, saved payment
 * methods for recurring charges, and Idempotence-Key semantics (same key and
 * same body replay the first answer, same key and another body is 400).
 * No HTTP here: the demo's sandbox server and the tests' fake wrap it.
 */
export interface PaymentsStoreOptions {
  shopId: string
  /** Objects carry `test: true`, as in a test shop. */
  test: boolean
  /** Where the payer confirms a payment (the `confirmation_url` YooKassa returns). */
  confirmationUrl: (paymentId: string) => string
  /** Refunds finish at once (succeeded) or stay pending until completeRefund(). */
  refundOutcome?: 'succeeded' | 'pending'
}

export interface Answer {
  status: number
  body: Json
}

export type PaymentsStore = ReturnType<typeof createPaymentsStore>

export function createPaymentsStore(options: PaymentsStoreOptions) {
  const { shopId } = options
  const payments = new Map<string, Json>()
  /** Every state a payment went through, oldest first: stale notifications replay these. */
  const history = new Map<string, Json[]>()
  const refunds = new Map<string, Json>()
  const keys = new Map<string, { fingerprint: string; status: number; body: Json }>()
  /** Saved payment methods: id -> outcome of the next merchant-initiated charge. */
  const savedMethods = new Map<string, 'succeeded' | { reason: string }>()
  let refundOutcome = options.refundOutcome ?? 'succeeded'
  const now = () => new Date().toISOString()

  function remember(payment: Json) {
    payments.set(payment.id, payment)
    const list = history.get(payment.id) ?? []
    list.push(structuredClone(payment))
    history.set(payment.id, list)
    return payment
  }

  function get(id: string): Json {
    const payment = payments.get(id)
    if (!payment) throw new Error(`YooKassa simulator: no payment ${id}`)
    return payment
  }

  function createPayment(body: Json): Answer {
    const amount = body.amount
    const invalid = validatePaymentBody(body)
    if (invalid) return invalid
    const base: Json = {
      id: randomUUID(),
      status: 'pending',
      paid: false,
      amount,
      description: body.description,
      metadata: body.metadata ?? {},
      recipient: { account_id: shopId, gateway_id: '1000001' },
      created_at: now(),
      test: options.test,
      refundable: false,
      refunded_amount: { value: '0.00', currency: amount.currency },
      capture: body.capture === true,
      save_payment_method: body.save_payment_method === true,
    }
    if (body.payment_method_id) {
      if (body.confirmation) {
        return error(
          400,
          'invalid_request',
          'Confirmation must be null when using payment_method_id',
        )
      }
      const outcome = savedMethods.get(body.payment_method_id)
      if (!outcome) return error(400, 'invalid_request', 'Payment method is not saved')
      base.payment_method = card(body.payment_method_id, true)
      if (outcome === 'succeeded')
        return { status: 200, body: publicView(remember(succeed(base, now()))) }
      base.status = 'canceled'
      base.cancellation_details = { party: 'payment_network', reason: outcome.reason }
      return { status: 200, body: publicView(remember(base)) }
    }
    base.confirmation = {
      type: 'redirect',
      return_url: body.confirmation?.return_url,
      confirmation_url: options.confirmationUrl(base.id),
    }
    return { status: 200, body: publicView(remember(base)) }
  }

  function createRefund(body: Json): Answer {
    const payment = payments.get(body.payment_id)
    if (!payment) return error(404, 'not_found', 'Payment not found or forbidden', 'payment_id')
    if (!body.amount || !MONEY.test(body.amount.value ?? '')) {
      return error(400, 'invalid_request', 'Error in the refund amount', 'amount')
    }
    const left = cents(payment.amount.value) - cents(payment.refunded_amount.value)
    if (payment.status !== 'succeeded' || cents(body.amount.value) > left) {
      return error(400, 'invalid_request', 'Refund amount exceeds the payment amount', 'amount')
    }
    const refund: Json = {
      id: randomUUID(),
      payment_id: payment.id,
      status: refundOutcome,
      amount: body.amount,
      description: body.description,
      metadata: body.metadata,
      created_at: now(),
    }
    refunds.set(refund.id, refund)
    if (refundOutcome === 'succeeded') applyRefund(refund)
    return { status: 200, body: structuredClone(refund) }
  }

  function applyRefund(refund: Json) {
    const payment = get(refund.payment_id)
    const total = cents(payment.refunded_amount.value) + cents(refund.amount.value)
    payment.refunded_amount = { value: money(total), currency: payment.amount.currency }
    remember(payment)
  }

  /** One API call, past authentication: GET /me, /payments..., /refunds... (paths without /v3). */
  function route(method: string, path: string, body: Json | undefined): Answer {
    const one = /^\/payments\/([^/]+)$/.exec(path)
    const action = /^\/payments\/([^/]+)\/(capture|cancel)$/.exec(path)
    const refundPath = /^\/refunds\/([^/]+)$/.exec(path)
    if (method === 'GET' && path === '/me') {
      return { status: 200, body: { account_id: shopId, status: 'enabled', test: options.test } }
    }
    if (method === 'POST' && path === '/payments') return createPayment(body ?? {})
    if (one && method === 'GET') {
      const payment = payments.get(decodeURIComponent(one[1]!))
      return payment
        ? { status: 200, body: publicView(payment) }
        : error(404, 'not_found', 'Payment not found or forbidden')
    }
    if (action && method === 'POST') {
      const payment = payments.get(decodeURIComponent(action[1]!))
      if (!payment) return error(404, 'not_found', 'Payment not found or forbidden')
      if (payment.status !== 'waiting_for_capture') {
        return error(400, 'invalid_request', `Payment is in ${payment.status} status`)
      }
      if (action[2] === 'capture') {
        if (body?.amount) payment.amount = body.amount
        return { status: 200, body: publicView(remember(succeed(payment, now()))) }
      }
      payment.status = 'canceled'
      payment.cancellation_details = { party: 'merchant', reason: 'canceled_by_merchant' }
      return { status: 200, body: publicView(remember(payment)) }
    }
    if (method === 'POST' && path === '/refunds') return createRefund(body ?? {})
    if (refundPath && method === 'GET') {
      const refund = refunds.get(decodeURIComponent(refundPath[1]!))
      return refund
        ? { status: 200, body: structuredClone(refund) }
        : error(404, 'not_found', 'Refund not found')
    }
    return error(404, 'not_found', `No route ${method} ${path}`)
  }

  return {
    shopId,
    payments,
    refunds,
    /**
     * An authenticated API call with YooKassa's Idempotence-Key rule: a POST
     * under a key seen before replays the first answer when the body is the
     * same, and is refused when it differs (docs/reference/yookassa.md 1.3).
     */
    call(method: string, path: string, key: string | undefined, body: Json | undefined): Answer {
      const fingerprint = `${method} ${path} ${canonical(body)}`
      const seen = key ? keys.get(key) : undefined
      if (method === 'POST' && seen) {
        return seen.fingerprint === fingerprint
          ? { status: seen.status, body: seen.body }
          : error(400, 'invalid_request', 'Idempotence key duplicated', 'Idempotence-Key')
      }
      const result = route(method, path, body)
      if (method === 'POST' && key) keys.set(key, { fingerprint, ...result })
      return result
    },
    /** The payer confirms: succeeded (capture: true) or waiting_for_capture; saves the card if asked. */
    pay(id: string, opts: { save?: boolean } = {}): Json {
      const payment = get(id)
      const saved = opts.save ?? payment.save_payment_method
      const methodId = `2d${randomUUID().slice(2)}`
      payment.payment_method = card(methodId, saved)
      if (saved) savedMethods.set(methodId, 'succeeded')
      if (payment.capture) succeed(payment, now())
      else {
        payment.status = 'waiting_for_capture'
        payment.paid = true
        delete payment.confirmation
      }
      return publicView(remember(payment))
    },
    /** The payment is canceled by YooKassa or the bank (expired link, declined card...). */
    cancel(id: string, reason = 'expired_on_confirmation', party = 'yoo_money'): Json {
      const payment = get(id)
      payment.status = 'canceled'
      payment.paid = false
      payment.cancellation_details = { party, reason }
      delete payment.confirmation
      return publicView(remember(payment))
    },
    /** Changes a stored payment behind the gateway's back (amount, test flag, recipient...). */
    patch(id: string, fields: Json): Json {
      return publicView(remember(Object.assign(get(id), fields)))
    },
    payment: (id: string) => publicView(get(id)),
    /** The payment as stored, with the internal flags (capture...); undefined when unknown. */
    find: (id: string): Json | undefined => payments.get(id),
    /** States the payment went through, oldest first. */
    history: (id: string) => (history.get(id) ?? []).map(publicView),
    /** Outcome of the next merchant-initiated charges with this saved method. */
    setChargeOutcome(methodId: string, outcome: 'succeeded' | { reason: string }) {
      savedMethods.set(methodId, outcome)
    },
    saveMethod(methodId: string) {
      savedMethods.set(methodId, 'succeeded')
    },
    setRefundOutcome(outcome: 'succeeded' | 'pending') {
      refundOutcome = outcome
    },
    completeRefund(id: string, status: 'succeeded' | 'canceled') {
      const refund = refunds.get(id)!
      refund.status = status
      if (status === 'succeeded') applyRefund(refund)
      else refund.cancellation_details = { party: 'refund_network', reason: 'rejected_by_payee' }
      return structuredClone(refund)
    },
    /** A notification body for an object as it is now, or for one of its past states. */
    notification(event: string, id: string, state?: Json): Json {
      const object = state ?? (payments.has(id) ? publicView(get(id)) : refunds.get(id))
      return { type: 'notification', event, object }
    },
  }
}
