import type { Db, SubscriptionRow } from '../../db/tables.ts'
import type { Plan } from './plan.ts'
import { SubscriptionConflict } from './subscription-races.ts'
import {
  findLiveSubscription,
  insertLiveSubscription,
  updateSubscriptionIf,
} from './subscriptions.repo.ts'
import { newSubscriptionRow, type SubscriptionContext } from './subscriptions.service.ts'

const DAY_SECONDS = 86_400

export type PlanDaysOutcome =
  | { kind: 'extended' | 'started'; subscription: SubscriptionRow }
  /** The user pays for another plan now: days of this one would end that paid time. */
  | { kind: 'on_other_paid_plan'; planId: string; paidUntil: number }

/**
 * `days` of `plan` given to a user (a promo code). Policy, chosen so a gift never
 * costs the payer what they paid for:
 * - on that plan with paid time: the paid time grows by `days` (periods keep their anchor);
 * - on the default plan, or on a paid plan whose time has run out: the plan starts now with
 *   `days` of paid time, its first period never running past them;
 * - on another plan with paid time left: nothing changes (the caller refuses, and the code
 *   stays unredeemed).
 * A period never runs past the paid time (rollover.ts), so days that end mid-period end it
 * there; that short period has the plan's whole quota.
 */
export async function grantPlanDays(
  ctx: SubscriptionContext,
  trx: Db,
  { userId, plan, days, now }: { userId: string; plan: Plan; days: number; now: number },
): Promise<PlanDaysOutcome> {
  const live = await findLiveSubscription(trx, userId)
  const seconds = days * DAY_SECONDS
  if (live && live.paid_until !== null && live.paid_until > now) {
    if (live.plan_id !== plan.id) {
      return { kind: 'on_other_paid_plan', planId: live.plan_id, paidUntil: live.paid_until }
    }
    const changes = { paid_until: live.paid_until + seconds, updated_at: now }
    if (!(await updateSubscriptionIf(trx, live, changes))) throw new SubscriptionConflict()
    return { kind: 'extended', subscription: { ...live, ...changes, version: live.version + 1 } }
  }
  const fresh = newSubscriptionRow(ctx, userId, plan, now, 1)
  const paidUntil = now + seconds
  const row: SubscriptionRow = {
    ...fresh,
    paid_until: paidUntil,
    current_period_end: Math.min(fresh.current_period_end, paidUntil),
  }
  if (live && !(await updateSubscriptionIf(trx, live, { status: 'canceled', updated_at: now }))) {
    throw new SubscriptionConflict()
  }
  if (!(await insertLiveSubscription(trx, row))) throw new SubscriptionConflict()
  return { kind: 'started', subscription: row }
}
