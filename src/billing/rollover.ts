import type { SubscriptionRow } from '../../db/tables.ts'
import { type Period, periodContaining } from './periods.ts'
import type { Plan } from './plan.ts'

/** What a subscription read at `now` must become. Pure: the service applies it. */
export type RolloverDecision =
  | { kind: 'current' }
  | { kind: 'roll'; period: Period; pastDue?: { graceUntil: number } }
  | { kind: 'end'; status: 'expired' | 'canceled' }

/**
 * The lifecycle rules, in one place:
 * - free plans (paid_until null) roll to the next period forever;
 * - paid plans roll while paid time remains (paid_until), so each paid period gets a fresh quota;
 * - when paid time runs out: cancel_at_period_end -> canceled; auto-renew with a saved card ->
 *   past_due for a grace period (the renewal job keeps trying); otherwise expired;
 * - past_due past its grace -> expired;
 * - a period never runs past the paid time: paid time given in days (plan-days.ts) can end
 *   mid-period, and the period ends with it (paid periods end on period boundaries anyway).
 * An ended subscription sends the user back to the default plan (the caller does that).
 */
export function decideRollover(
  sub: SubscriptionRow,
  plan: Plan | undefined,
  now: number,
  graceSeconds: number,
): RolloverDecision {
  if (!plan) return { kind: 'end', status: 'expired' }
  if (sub.status === 'past_due' && sub.grace_until !== null && now >= sub.grace_until) {
    return { kind: 'end', status: 'expired' }
  }
  if (now < sub.current_period_end) return { kind: 'current' }

  const roll = {
    kind: 'roll',
    period: clippedToPaidTime(periodContaining(sub.period_anchor, plan.interval, now), sub),
  } as const
  if (sub.paid_until === null) {
    return sub.cancel_at_period_end ? { kind: 'end', status: 'canceled' } : roll
  }
  if (now < sub.paid_until) return roll
  if (sub.cancel_at_period_end) return { kind: 'end', status: 'canceled' }
  if (sub.status === 'past_due') return roll
  if (sub.auto_renew && sub.payment_method_id) {
    return { ...roll, pastDue: { graceUntil: sub.paid_until + graceSeconds } }
  }
  return { kind: 'end', status: 'expired' }
}

function clippedToPaidTime(period: Period, sub: SubscriptionRow): Period {
  if (sub.paid_until === null || sub.paid_until <= period.start || sub.paid_until >= period.end) {
    return period
  }
  return { ...period, end: sub.paid_until }
}
