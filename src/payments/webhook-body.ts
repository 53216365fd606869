/**
 * What is stored of a notification's body: the fields of a kept list, nothing else. The
 * ledger never reads a stored body (a notification is only a hint; the payment is read back
 * with GET), so a body is kept for the operator's audit only, and the audit needs what the
 * notification said happened, not who paid: the card (first6, last4, expiry, issuer), the
 * method's title ("Bank card *4444"), phone, account number, login, payer bank details and
 * authorization details (RRN, auth code) are dropped, and so is any field YooKassa adds
 * later until it is named here. docs/payments.md lists the kept fields.
 */

/**
 * `true` keeps a string, number, boolean or null; `'flat'` an object of those (the metadata,
 * the gateway's own); an object keeps its listed keys. Nothing else is kept whole.
 */
type Kept = true | 'flat' | { readonly [key: string]: Kept }

const AMOUNT: Kept = { value: true, currency: true }

const KEPT: Kept = {
  type: true,
  event: true,
  object: {
    id: true,
    status: true,
    paid: true,
    test: true,
    amount: AMOUNT,
    income_amount: AMOUNT,
    refunded_amount: AMOUNT,
    refundable: true,
    created_at: true,
    captured_at: true,
    expires_at: true,
    description: true,
    metadata: 'flat',
    // A refund's payment.
    payment_id: true,
    recipient: { account_id: true, gateway_id: true },
    cancellation_details: { party: true, reason: true },
    // The method's id is what a renewal charges; its kind and whether it was saved explain why.
    payment_method: { type: true, id: true, saved: true, status: true },
  },
}

/** The body as stored: the kept fields of parsed JSON, serialised again ('' when it is not an object). */
export function storedNotificationBody(json: unknown): string {
  const kept = keep(json, KEPT)
  return kept === undefined ? '' : JSON.stringify(kept)
}

function keep(value: unknown, kept: Kept): unknown {
  if (kept === true) return isPrimitive(value) ? value : undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const out: Record<string, unknown> = {}
  const entries =
    kept === 'flat' ? Object.keys(value).map((key) => [key, true] as const) : Object.entries(kept)
  for (const [key, inner] of entries) {
    if (!Object.hasOwn(value, key)) continue
    const child = keep((value as Record<string, unknown>)[key], inner)
    if (child !== undefined) out[key] = child
  }
  return out
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}
