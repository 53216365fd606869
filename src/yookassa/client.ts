import type { Logger } from '../lib/logger.ts'
import { formatMoney } from '../lib/money.ts'
import {
  type Me,
  type Money,
  meSchema,
  type Payment,
  paymentSchema,
  type Refund,
  refundSchema,
} from './schemas.ts'
import { type CallOptions, createTransport, type TransportOptions } from './transport.ts'

export type { Me, Money, Payment, Refund }

export interface ReceiptItem {
  description: string
  quantity: number
  amount: Money
  vat_code: number
  payment_subject: string
  payment_mode: string
}

/** 54-FZ receipt (docs/reference/yookassa.md 2.2): the items' sum must equal the payment amount. */
export interface Receipt {
  customer: { email?: string; phone?: string }
  items: ReceiptItem[]
}

export interface CreatePaymentRequest {
  amount: Money
  capture: boolean
  description: string
  metadata: Record<string, string>
  confirmation?: { type: 'redirect'; return_url: string }
  save_payment_method?: boolean
  /** A saved method: a merchant-initiated charge, no confirmation allowed. */
  payment_method_id?: string
  receipt?: Receipt
}

export interface CreateRefundRequest {
  payment_id: string
  amount: Money
  description?: string
  metadata?: Record<string, string>
  receipt?: Receipt
}

/** Per-call knobs: fewer attempts where the caller has its own retry (webhook, jobs). */
export type ReadOptions = Pick<CallOptions, 'attempts'>

/**
 * The endpoints the gateway uses. Every POST takes the Idempotence-Key from
 * the caller, who stored it before calling: the client never invents one,
 * so a retry after a crash reuses it and cannot charge twice.
 */
export interface YooKassaClient {
  readonly shopId: string
  createPayment(body: CreatePaymentRequest, idempotenceKey: string): Promise<Payment>
  getPayment(paymentId: string, options?: ReadOptions): Promise<Payment>
  capturePayment(paymentId: string, amount: Money, idempotenceKey: string): Promise<Payment>
  cancelPayment(paymentId: string, idempotenceKey: string): Promise<Payment>
  createRefund(body: CreateRefundRequest, idempotenceKey: string): Promise<Refund>
  getRefund(refundId: string, options?: ReadOptions): Promise<Refund>
  me(): Promise<Me>
  close(): Promise<void>
}

export type YooKassaClientOptions = TransportOptions

/** The client over explicit options (tests point it at the fake with short timeouts). */
export function createYooKassaHttpClient(options: YooKassaClientOptions): YooKassaClient {
  const transport = createTransport(options)
  const id = (value: string) => encodeURIComponent(value)
  return {
    shopId: options.shopId,
    createPayment: (body, idempotenceKey) =>
      transport.call(paymentSchema, 'create payment', 'POST', '/payments', {
        body: paymentBodyToWire(body),
        idempotenceKey,
      }),
    getPayment: (paymentId, read = {}) =>
      transport.call(paymentSchema, 'get payment', 'GET', `/payments/${id(paymentId)}`, read),
    capturePayment: (paymentId, amount, idempotenceKey) =>
      transport.call(
        paymentSchema,
        'capture payment',
        'POST',
        `/payments/${id(paymentId)}/capture`,
        {
          body: { amount: moneyToWire(amount) },
          idempotenceKey,
        },
      ),
    cancelPayment: (paymentId, idempotenceKey) =>
      transport.call(paymentSchema, 'cancel payment', 'POST', `/payments/${id(paymentId)}/cancel`, {
        body: {},
        idempotenceKey,
      }),
    createRefund: (body, idempotenceKey) =>
      transport.call(refundSchema, 'create refund', 'POST', '/refunds', {
        body: refundBodyToWire(body),
        idempotenceKey,
      }),
    getRefund: (refundId, read = {}) =>
      transport.call(refundSchema, 'get refund', 'GET', `/refunds/${id(refundId)}`, read),
    me: () => transport.call(meSchema, 'get shop', 'GET', '/me'),
    close: () => transport.close(),
  }
}

function moneyToWire(money: Money): { value: string; currency: string } {
  return { value: formatMoney(money.kopecks), currency: money.currency }
}

function receiptToWire(receipt: Receipt) {
  return {
    customer: receipt.customer,
    items: receipt.items.map((item) => ({ ...item, amount: moneyToWire(item.amount) })),
  }
}

/** The exact JSON body sent: the same request always serialises the same way (key replays). */
export function paymentBodyToWire(body: CreatePaymentRequest): Record<string, unknown> {
  return {
    amount: moneyToWire(body.amount),
    capture: body.capture,
    description: body.description,
    metadata: body.metadata,
    ...(body.confirmation ? { confirmation: body.confirmation } : {}),
    ...(body.save_payment_method !== undefined
      ? { save_payment_method: body.save_payment_method }
      : {}),
    ...(body.payment_method_id ? { payment_method_id: body.payment_method_id } : {}),
    ...(body.receipt ? { receipt: receiptToWire(body.receipt) } : {}),
  }
}

function refundBodyToWire(body: CreateRefundRequest): Record<string, unknown> {
  return {
    payment_id: body.payment_id,
    amount: moneyToWire(body.amount),
    ...(body.description ? { description: body.description } : {}),
    ...(body.metadata ? { metadata: body.metadata } : {}),
    ...(body.receipt ? { receipt: receiptToWire(body.receipt) } : {}),
  }
}

/**
 * The client Deps holds, or null when shop id or secret key is missing
 * (payment routes then answer 503 billing_not_configured).
 */
export function createYooKassaClient(base: {
  config: { yookassa: { apiUrl: string; requestTimeoutMs: number } }
  secrets: { yookassaShopId?: string; yookassaSecretKey?: string }
  logger?: Logger
}): YooKassaClient | null {
  const { config, secrets, logger } = base
  if (!secrets.yookassaShopId || !secrets.yookassaSecretKey) return null
  return createYooKassaHttpClient({
    apiUrl: config.yookassa.apiUrl,
    shopId: secrets.yookassaShopId,
    secretKey: secrets.yookassaSecretKey,
    timeoutMs: config.yookassa.requestTimeoutMs,
    logger,
  })
}
