import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * Stored notification bodies keep only the fields of a kept list from now on
 * (src/payments/webhook-body.ts); this rewrites the bodies stored before, which
 * held the payer's card (first6, last4, expiry), the method's title, phone and
 * authorization details. The list is copied here as it was at this migration. A
 * body that is no longer JSON (cut at 1 KiB or 16 KiB when stored) cannot be told
 * safe and becomes ''. Nothing reads a stored body but the operator, so nothing
 * else changes; there is no way back (down does nothing).
 */
export async function up(db: Kysely<any>): Promise<void> {
  let after = ''
  for (;;) {
    const rows: Array<{ id: string; body: string }> = await db
      .selectFrom('billing_webhook_event')
      .select(['id', 'body'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(500)
      .execute()
    if (rows.length === 0) return
    for (const row of rows) {
      const scrubbed = scrub(row.body)
      if (scrubbed !== row.body) {
        await db
          .updateTable('billing_webhook_event')
          .set({ body: scrubbed })
          .where('id', '=', row.id)
          .execute()
      }
    }
    after = rows[rows.length - 1]!.id
  }
}

export async function down(): Promise<void> {}

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
    payment_id: true,
    recipient: { account_id: true, gateway_id: true },
    cancellation_details: { party: true, reason: true },
    payment_method: { type: true, id: true, saved: true, status: true },
  },
}

function scrub(body: string): string {
  if (body === '') return body
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return ''
  }
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
