import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'

/**
 * Live subscriptions whose paid time ends within the renewal window and that
 * renew automatically with a saved method; past_due ones only while their
 * grace lasts (after it the rollover sends the user to the default plan).
 * The renewal key `renew-<subscription id>-<paid_until>` is built here in SQL
 * and in the renewal job in TypeScript: keep the two in step.
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
              .where(
                sql<boolean>`t.idempotence_key = 'renew-' || billing_subscription.id || '-' || billing_subscription.paid_until`,
              ),
          ),
        ),
      )
      .orderBy('paid_until')
      .limit(limit)
      .execute()
  )
}
