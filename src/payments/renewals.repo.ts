import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'

/**
 * The Idempotence-Key of a renewal charge, `renew-<subscription id>-<paid_until>`:
 * one per subscription and paid period, so two replicas (or a retry) charging
 * the same period send the same key and YooKassa charges once. Built here
 * twice, in TypeScript for the job and in SQL for the due list: keep the two
 * expressions side by side.
 */
export function renewalKey(subscriptionId: string, paidUntil: number): string {
  return `renew-${subscriptionId}-${paidUntil}`
}

/** renewalKey() of the billing_subscription row, in SQL. */
const renewalKeyOfRow = sql<string>`'renew-' || billing_subscription.id || '-' || billing_subscription.paid_until`

/**
 * Live subscriptions whose paid time ends within the renewal window and that
 * renew automatically with a saved method; past_due ones only while their
 * grace lasts (after it the rollover sends the user to the default plan).
 */
export async function listDueRenewals(
  db: Db,
  { now, dueBefore, limit }: { now: number; dueBefore: number; limit: number },
) {
  return (
    db
      .selectFrom('billing_subscription')
      .selectAll()
      .where('status', 'in', ['active', 'past_due'])
      .where('auto_renew', '=', 1)
      .where('cancel_at_period_end', '=', 0)
      .where('payment_method_id', 'is not', null)
      .where('paid_until', 'is not', null)
      .where('paid_until', '<=', dueBefore)
      .where((eb) => eb.or([eb('grace_until', 'is', null), eb('grace_until', '>', now)]))
      // A period already attempted (charged, failed or in flight) is not listed again, so a pile
      // of failed renewals cannot starve the batch; in-flight ones are the reconciler's.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('billing_transaction as t')
              .select('t.id')
              .where(sql<boolean>`t.idempotence_key = ${renewalKeyOfRow}`),
          ),
        ),
      )
      .orderBy('paid_until')
      .limit(limit)
      .execute()
  )
}
