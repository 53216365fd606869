import type { TransactionRow } from '../../db/tables.ts'

/** What differs between a checkout, a renewal charge and a refund row; the rest is the same for all. */
export type NewTransaction = Pick<
  TransactionRow,
  'id' | 'user_id' | 'plan_id' | 'kind' | 'amount' | 'currency' | 'idempotence_key' | 'description'
> &
  Partial<Pick<TransactionRow, 'status' | 'provider_payment_id' | 'parent_id' | 'pack_id'>> & {
    /** Stored as JSON text; the stored `request` is what a replay sends again under the same key. */
    metadata: Record<string, unknown>
    now: number
  }

/**
 * A new billing_transaction row. Defaults: pending, not yet bound to a
 * YooKassa id, nothing refunded, no parent (only a refund has one).
 */
export function newTransactionRow(fields: NewTransaction): TransactionRow {
  const { metadata, now, ...rest } = fields
  return {
    status: 'pending',
    provider_payment_id: null,
    parent_id: null,
    pack_id: null,
    ...rest,
    provider: 'yookassa',
    metadata: JSON.stringify(metadata),
    refunded_amount: 0,
    created_at: now,
    updated_at: now,
  }
}
