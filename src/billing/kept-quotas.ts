import type { Db, SubscriptionRow } from '../../db/tables.ts'
import type { PlanQuotas } from '../ledger/quotas.ts'
import type { Plan } from './plan.ts'

/**
 * A plan's quota edit "from the next period": each live subscriber keeps the
 * quotas of the plan as they were, for the period they are in, so an operator
 * never cuts a payer's limit mid-period by accident. Kept quotas are in force
 * while the subscription's current period is the one they were kept for; a
 * rollover (or a new subscription) leaves them behind and the plan's apply.
 */
export function quotasInForce(plan: Plan, subscription: SubscriptionRow): Plan {
  const kept = subscription.kept_quotas
  if (kept === null || kept === undefined) return plan
  if (Number(subscription.kept_quotas_period) !== Number(subscription.current_period_start)) {
    return plan
  }
  return { ...plan, quotas: JSON.parse(kept) as PlanQuotas }
}

/**
 * Before a plan's quotas change for next periods only: its live subscriptions
 * keep `quotas` for their current period. A subscription that already keeps
 * quotas for its current period (an earlier edit) keeps those: the limits its
 * period started with. Returns how many subscriptions were spared.
 */
export async function keepQuotasForCurrentPeriods(db: Db, planId: string, quotas: PlanQuotas) {
  const result = await db
    .updateTable('billing_subscription')
    .set((eb) => ({
      kept_quotas: JSON.stringify(quotas),
      kept_quotas_period: eb.ref('current_period_start'),
    }))
    .where('plan_id', '=', planId)
    .where('status', 'in', ['active', 'past_due'])
    .where((eb) =>
      eb.or([
        eb('kept_quotas', 'is', null),
        eb('kept_quotas_period', 'is', null),
        eb('kept_quotas_period', '!=', eb.ref('current_period_start')),
      ]),
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** A quota edit "now": the plan's subscribers drop what they kept, so its new quotas apply at once. */
export async function dropKeptQuotas(db: Db, planId: string) {
  await db
    .updateTable('billing_subscription')
    .set({ kept_quotas: null, kept_quotas_period: null })
    .where('plan_id', '=', planId)
    .where('status', 'in', ['active', 'past_due'])
    .where('kept_quotas', 'is not', null)
    .execute()
}
