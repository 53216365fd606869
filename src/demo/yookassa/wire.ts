import { randomUUID } from 'node:crypto'

/**
 * YooKassa's wire objects as the simulated shop (payments-store.ts) builds
 * them, written from docs/reference/yookassa.md: validation of a create-payment
 * body, a saved bank card, status moves, and the money helpers. Plain
 * functions, no server state. Shared by the demo's sandbox and the tests'
 * fake YooKassa (test/helpers/fake-yookassa.ts).
 */
// biome-ignore lint/suspicious/noExplicitAny: free-form wire JSON, shaped by docs/reference/yookassa.md
export type Json = Record<string, any>

export const MONEY = /^\d{1,13}\.\d{2}$/

export function error(status: number, code: string, description: string, parameter?: string) {
  return { status, body: { type: 'error', id: randomUUID(), code, description, parameter } }
}

/** The 400s YooKassa answers for a bad create-payment body (docs/reference/yookassa.md 2, 7); null when valid. */
export function validatePaymentBody(body: Json) {
  const amount = body.amount
  if (!amount || typeof amount.value !== 'string' || !MONEY.test(amount.value)) {
    return error(
      400,
      'invalid_request',
      'Error in the payment amount. For example, 100.00',
      'amount',
    )
  }
  if (typeof body.description === 'string' && body.description.length > 128) {
    return error(400, 'invalid_request', 'Description is too long', 'description')
  }
  if (body.metadata && Object.keys(body.metadata).length > 16) {
    return error(400, 'invalid_request', 'Metadata object is limited to 16 keys', 'metadata')
  }
  if (body.receipt) {
    const sum = (body.receipt.items ?? []).reduce(
      (acc: number, item: Json) =>
        acc + Math.round(Number(item.amount?.value) * 100) * Number(item.quantity),
      0,
    )
    if (sum !== Math.round(Number(amount.value) * 100) || !body.receipt.customer?.email) {
      return error(400, 'invalid_request', 'Receipt is missing or illegal', 'receipt')
    }
  }
  return null
}

export function succeed(payment: Json, at: string): Json {
  payment.status = 'succeeded'
  payment.paid = true
  payment.refundable = true
  payment.captured_at = at
  delete payment.confirmation
  return payment
}

/** A bank card as YooKassa shows it: never the full number, only first6/last4. */
export function card(id: string, saved: boolean): Json {
  return {
    type: 'bank_card',
    id,
    saved,
    status: saved ? 'active' : 'inactive',
    title: 'Bank card *4444',
    card: { first6: '555555', last4: '4444', expiry_month: '12', expiry_year: '2030' },
  }
}

/** What the API shows: internal flags stripped. */
export function publicView(payment: Json): Json {
  const { capture: _c, save_payment_method: _s, ...rest } = payment
  return structuredClone(rest)
}

export function cents(value: string): number {
  const [units = '0', fraction = '0'] = value.split('.')
  return Number(units) * 100 + Number(fraction.padEnd(2, '0'))
}

export function money(kopecks: number): string {
  return `${Math.floor(kopecks / 100)}.${String(kopecks % 100).padStart(2, '0')}`
}

/** Key order does not make two bodies different. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Json).sort(([a], [b]) => a.localeCompare(b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'undefined'
}

/**
 * What YooKassa answers before it looks at a call (docs/reference/yookassa.md 1.2, 1.3): 401
 * without the shop's Basic credentials; for a POST, 400 when the body is not
 * JSON or the Idempotence-Key is missing or longer than 64 characters.
 */
export function precheck(call: {
  method: string
  authorization: string | undefined
  expected: { shopId: string; secretKey: string }
  raw: string
  key: string | undefined
}): { refused?: { status: number; body: Json }; body?: Json } {
  const { shopId, secretKey } = call.expected
  if (call.authorization !== `Basic ${Buffer.from(`${shopId}:${secretKey}`).toString('base64')}`) {
    return { refused: error(401, 'invalid_credentials', 'Authentication error') }
  }
  if (call.method !== 'POST') return {}
  let body: Json
  try {
    body = call.raw ? JSON.parse(call.raw) : {}
  } catch {
    return { refused: error(400, 'invalid_request', 'Failed to parse request body') }
  }
  if (!call.key) return { body, refused: error(400, 'invalid_request', 'Idempotence key is empty') }
  if (call.key.length > 64) {
    return { body, refused: error(400, 'invalid_request', 'Idempotence key is too long') }
  }
  return { body }
}
