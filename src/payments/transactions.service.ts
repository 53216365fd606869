import type { TransactionRow } from '../../db/tables.ts'
import type { Principal } from '../auth/principal.ts'
import { DomainError } from '../lib/errors.ts'
import { formatMoney } from '../lib/money.ts'
import { readMeta } from './apply-helpers.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { listTransactions } from './transactions.repo.ts'

/** A transaction as the API shows it (docs/reference/API.md): money as a two-decimal string. */
export function transactionToJson(row: TransactionRow) {
  return {
    id: row.id,
    user_id: row.user_id,
    plan_id: row.plan_id,
    kind: row.kind,
    amount: formatMoney(row.amount),
    currency: row.currency,
    status: row.status,
    refunded_amount: formatMoney(row.refunded_amount),
    provider_payment_id: row.provider_payment_id,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    ...nextStepOf(row),
  }
}

/**
 * What the payer can do next: a pending checkout's payment page (until YooKassa or the
 * expiry job ends it), or why a payment was declined (YooKassa's cancellation_details.reason,
 * or the gateway's own word when it expired the payment).
 */
function nextStepOf(row: TransactionRow) {
  const meta = readMeta(row) as {
    confirmation_url?: unknown
    cancellation?: { reason?: unknown; party?: unknown }
  }
  const open = row.status === 'pending' || row.status === 'waiting_for_capture'
  const url = open && typeof meta.confirmation_url === 'string' ? meta.confirmation_url : null
  const reason =
    row.status === 'canceled' && typeof meta.cancellation?.reason === 'string'
      ? meta.cancellation.reason
      : null
  return { confirmation_url: url, cancellation_reason: reason }
}

/**
 * GET /transactions: the caller's own, newest first, keyset-paginated by id
 * (UUIDv7, so id order is creation order and a page never shifts when new
 * rows arrive). Only an admin may name another user.
 */
export async function listCallerTransactions(
  deps: Pick<PaymentsDeps, 'database'>,
  principal: Principal,
  query: { userId?: string; limit: number; cursor?: string },
) {
  const userId = query.userId ?? principal.userId
  if (userId !== principal.userId && principal.role !== 'admin') {
    throw new DomainError(
      'permission_denied',
      "Only an admin may list another user's transactions",
      {
        param: 'user_id',
      },
    )
  }
  const rows = await listTransactions(deps.database.db, {
    userId,
    limit: query.limit + 1,
    before: query.cursor,
  })
  const page = rows.slice(0, query.limit)
  return {
    data: page.map(transactionToJson),
    next_cursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
  }
}
