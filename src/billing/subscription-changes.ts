import type { Db, SubscriptionRow } from '../../db/tables.ts'
import { periodContaining } from './periods.ts'
import type { Plan } from './plan.ts'
import { SubscriptionConflict } from './subscription-races.ts'
import {
  findLiveSubscription,
  insertLiveSubscription,
  updateSubscriptionIf,
} from './subscriptions.repo.ts'
import {
  newSubscriptionRow,
  type SubscriptionContext,
  startDefaultSubscription,
} from './subscriptions.service.ts'

/**
 * Changes of plan and paid time. Each takes the transaction it runs in, so a
 * caller (a payment, a refund, an admin grant) commits its own records and the
 * subscription change together, and each returns the resulting live row.
 * Callers invalidate the entitlement cache after commit.
 */

/** Ends the live subscription (if any) and starts `row` in its place. */
async function replaceLiveSubscription(
  trx: Db,
  userId: string,
  row: SubscriptionRow,
  endAs: 'canceled' | 'expired',
  now: number,
): Promise<SubscriptionRow> {
  const live = await findLiveSubscription(trx, userId)
  if (live && !(await updateSubscriptionIf(trx, live, { status: endAs, updated_at: now }))) {
    throw new SubscriptionConflict()
  }
  if (!(await insertLiveSubscription(trx, row))) throw new SubscriptionConflict()
  return row
}

/**
 * An admin gives a user `plan` for `periods` periods. A user already paid on
 * that plan keeps their period and usage and gets `periods` more intervals
 * after their paid time (as a payment would: an operator granting a month
 * must never take away the month already paid). Any other paid plan starts
 * now with a fresh period and quota. The default plan is unpaid and
 * open-ended, and is the user's own (startDefaultSubscription): granting it to
 * a user already on it changes nothing, otherwise their earlier default
 * subscription comes back with its usage.
 */
export async function grantPlan(
  ctx: SubscriptionContext,
  trx: Db,
  { userId, plan, periods, now }: { userId: string; plan: Plan; periods: number; now: number },
): Promise<SubscriptionRow> {
  if (plan.id !== (await ctx.defaultPlan.id(trx))) {
    const live = await findLiveSubscription(trx, userId)
    if (live && live.plan_id === plan.id && live.paid_until !== null) {
      const changes = {
        status: 'active' as const,
        paid_until: extendedPaidUntil(live, plan, periods),
        grace_until: null,
        cancel_at_period_end: 0,
        updated_at: now,
      }
      if (!(await updateSubscriptionIf(trx, live, changes))) throw new SubscriptionConflict()
      return { ...live, ...changes, version: live.version + 1 }
    }
    const row = newSubscriptionRow(ctx, userId, plan, now, periods)
    return replaceLiveSubscription(trx, userId, row, 'canceled', now)
  }
  const live = await findLiveSubscription(trx, userId)
  if (live?.plan_id === plan.id) return live
  if (live && !(await updateSubscriptionIf(trx, live, { status: 'canceled', updated_at: now }))) {
    throw new SubscriptionConflict()
  }
  // An inactive default plan may still be granted (it is then no one's fallback).
  if ((await startDefaultSubscription(ctx, trx, userId, now)) === 'no_default_plan') {
    await insertLiveSubscription(trx, newSubscriptionRow(ctx, userId, plan, now, null))
  }
  const started = await findLiveSubscription(trx, userId)
  if (!started) throw new SubscriptionConflict()
  return started
}

/**
 * The paid time of `live` (on `plan`) with `periods` more intervals, counted
 * from its anchor after what is paid already (never from before the current period).
 */
export function extendedPaidUntil(
  live: Pick<SubscriptionRow, 'paid_until' | 'current_period_start' | 'period_anchor'>,
  plan: Pick<Plan, 'interval'>,
  periods: number,
): number {
  let paidUntil = Math.max(live.paid_until ?? 0, live.current_period_start)
  for (let i = 0; i < periods; i++) {
    paidUntil = periodContaining(live.period_anchor, plan.interval, paidUntil).end
  }
  return paidUntil
}

/**
 * A payment for `plan` succeeded. Policy: a user already on that plan gets one
 * more interval after the paid time they have (periods keep their anchor);
 * a user on any other plan switches now, with a fresh period and quota
 * (what they had left on the old plan is not carried over).
 */
export async function applyPaidPeriod(
  ctx: SubscriptionContext,
  trx: Db,
  input: { userId: string; plan: Plan; now: number; paymentMethodId?: string | null },
): Promise<SubscriptionRow> {
  const { userId, plan, now } = input
  const live = await findLiveSubscription(trx, userId)
  const paymentMethod =
    input.paymentMethodId !== undefined && input.paymentMethodId !== null
      ? { payment_method_id: input.paymentMethodId, auto_renew: 1 }
      : {}

  if (live && live.plan_id === plan.id && live.paid_until !== null) {
    const paidFrom = Math.max(live.paid_until, live.current_period_start)
    const paidUntil = periodContaining(live.period_anchor, plan.interval, paidFrom).end
    const changes = {
      status: 'active' as const,
      paid_until: paidUntil,
      grace_until: null,
      cancel_at_period_end: 0,
      updated_at: now,
      ...paymentMethod,
    }
    if (!(await updateSubscriptionIf(trx, live, changes))) throw new SubscriptionConflict()
    return { ...live, ...changes, version: live.version + 1 }
  }
  const row = { ...newSubscriptionRow(ctx, userId, plan, now, 1), ...paymentMethod }
  return replaceLiveSubscription(trx, userId, row, 'canceled', now)
}

/** Ends the live subscription now and puts the user back on the default plan (their own, see above). */
export async function endNowToDefault(
  ctx: SubscriptionContext,
  trx: Db,
  { userId, now, endAs }: { userId: string; now: number; endAs: 'canceled' | 'expired' },
): Promise<void> {
  const live = await findLiveSubscription(trx, userId)
  if (live && !(await updateSubscriptionIf(trx, live, { status: endAs, updated_at: now }))) {
    throw new SubscriptionConflict()
  }
  await startDefaultSubscription(ctx, trx, userId, now)
}
