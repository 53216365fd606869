import type { Transaction } from 'kysely'
import type { DB, TransactionRow } from '../../db/tables.ts'
import { SubscriptionConflict } from '../billing/subscription-races.ts'
import { findSubscription, updateSubscriptionIf } from '../billing/subscriptions.repo.ts'
import { notifyOperator } from '../notify/notify.ts'
import { readMeta } from './apply-helpers.ts'
import type { PaymentsDeps } from './payments-deps.ts'

/**
 * Reasons after which the saved method must not be charged again
 * (docs/reference/yookassa.md 9: the user revoked the permission, or the card cannot work).
 */
const METHOD_UNUSABLE = new Set(['permission_revoked', 'card_expired', 'payment_method_restricted'])

/**
 * A renewal charge failed: the subscription goes past_due until
 * paid_until + grace (the rollover then returns the user to the default
 * plan). Runs inside the transaction that cancels the renewal row, so the
 * two changes commit together. A subscription that moved on (paid another
 * way, another plan) is left alone. The operator's renewal.failed webhook is recorded in the
 * same transaction, so it is sent exactly when the change commits.
 */
export async function markRenewalFailed(
  deps: Pick<PaymentsDeps, 'config' | 'logger' | 'clock' | 'ids' | 'database'>,
  trx: Transaction<DB>,
  transaction: TransactionRow,
  reason: string,
  now: number,
): Promise<void> {
  const meta = readMeta(transaction)
  const subscriptionId = typeof meta.subscription_id === 'string' ? meta.subscription_id : null
  if (!subscriptionId) return
  const sub = await findSubscription(trx, subscriptionId)
  if (
    !sub ||
    !['active', 'past_due'].includes(sub.status) ||
    sub.paid_until !== meta.period_start
  ) {
    return
  }
  const unusable = METHOD_UNUSABLE.has(reason)
  const changes = {
    status: 'past_due' as const,
    grace_until: sub.grace_until ?? (sub.paid_until ?? now) + deps.config.yookassa.graceSeconds,
    updated_at: now,
    ...(unusable ? { auto_renew: 0, payment_method_id: null } : {}),
  }
  if (!(await updateSubscriptionIf(trx, sub, changes))) throw new SubscriptionConflict()
  await notifyOperator(
    deps,
    {
      type: 'renewal.failed',
      dedupeKey: `renewal-failed:${transaction.id}`,
      data: {
        user_id: sub.user_id,
        subscription_id: sub.id,
        plan_id: sub.plan_id,
        transaction_id: transaction.id,
        amount: transaction.amount,
        currency: transaction.currency,
        reason,
        grace_until: changes.grace_until,
        method_dropped: unusable,
      },
    },
    trx,
  )
  deps.logger.warn(
    {
      subscriptionId: sub.id,
      userId: sub.user_id,
      reason,
      graceUntil: changes.grace_until,
      methodDropped: unusable,
    },
    'BILLING renewal charge failed, subscription past_due',
  )
}
