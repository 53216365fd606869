import type { TransactionRow } from '../../db/tables.ts'
import type { YooKassaClient } from '../yookassa/client.ts'
import { isYooKassaError } from '../yookassa/errors.ts'
import type { Payment } from '../yookassa/schemas.ts'
import { applyPayment } from './apply-payment.ts'
import { applyRefund } from './apply-refund.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { findTransaction, findTransactionByProviderId } from './transactions.repo.ts'

/** What became of a notification, as stored in billing_webhook_event.outcome. */
export interface NotificationResult {
  outcome: `applied: ${string}` | `ignored: ${string}` | `rejected: ${string}`
}

/**
 * Acts on a verified-source notification. The body only names the object;
 * it is read back with GET (one attempt: YooKassa redelivers for a day, and
 * the reconciliation job re-reads open payments anyway) and only that answer
 * changes anything. Throws on anything transient (API or database down), so
 * the route answers 500 and YooKassa delivers it again.
 */
export async function handleNotification(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  notification: { event: string; objectId: string },
): Promise<NotificationResult> {
  const { event, objectId } = notification
  if (event.startsWith('payment.')) {
    const payment = await readOrNull(() => yookassa.getPayment(objectId, { attempts: 1 }))
    if (!payment) return { outcome: 'ignored: unknown payment' }
    const transaction = await findPaymentTransaction(deps, payment)
    if (!transaction) return { outcome: 'ignored: no transaction for this payment' }
    const result = await applyPayment(deps, yookassa, transaction, payment)
    return describe(result.outcome, result.detail)
  }
  if (event === 'refund.succeeded') {
    const refund = await readOrNull(() => yookassa.getRefund(objectId, { attempts: 1 }))
    if (!refund) return { outcome: 'ignored: unknown refund' }
    const result = await applyRefund(deps, refund)
    return describe(result.outcome)
  }
  return { outcome: `ignored: unhandled event ${event.slice(0, 64)}` }
}

/**
 * The transaction a payment belongs to: by its YooKassa id, or (when we
 * crashed before storing that id) by the transaction id we put in its
 * metadata, only if that row is still unbound.
 */
async function findPaymentTransaction(
  deps: Pick<PaymentsDeps, 'database'>,
  payment: Payment,
): Promise<TransactionRow | undefined> {
  const { db } = deps.database
  const bound = await findTransactionByProviderId(db, payment.id)
  if (bound) return bound.kind === 'refund' ? undefined : bound
  const ours = payment.metadata?.transaction_id
  if (!ours) return undefined
  const row = await findTransaction(db, ours)
  return row && row.kind !== 'refund' && row.provider_payment_id === null ? row : undefined
}

async function readOrNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read()
  } catch (error) {
    // A forged id is unknown to YooKassa: nothing to do, and nothing to retry.
    if (isYooKassaError(error) && error.notFound) return null
    throw error
  }
}

function describe(outcome: string, detail?: string): NotificationResult {
  if (outcome === 'rejected') return { outcome: `rejected: ${detail ?? 'does not match'}` }
  if (['credited', 'canceled', 'refunded'].includes(outcome))
    return { outcome: `applied: ${outcome}` }
  return { outcome: `ignored: ${outcome}` }
}
