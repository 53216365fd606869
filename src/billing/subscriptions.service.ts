import type { Db, SubscriptionRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { BillingDeps } from './billing-deps.ts'
import { quotasInForce } from './kept-quotas.ts'
import { addInterval, periodContaining } from './periods.ts'
import { type Plan, planFromRow } from './plan.ts'
import { findPlan } from './plans.repo.ts'
import { decideRollover } from './rollover.ts'
import { AGAIN, retryOnConflict } from './subscription-races.ts'
import {
  findLatestSubscriptionToPlan,
  findLiveSubscription,
  insertLiveSubscription,
  reviveSubscriptionIf,
  updateSubscriptionIf,
} from './subscriptions.repo.ts'

/** What the subscription rules need; a subset of BillingDeps so jobs and the CLI can call them too. */
export type SubscriptionContext = Pick<
  BillingDeps,
  'config' | 'database' | 'clock' | 'defaultPlan' | 'ids' | 'logger'
>

export interface LiveSubscription {
  subscription: SubscriptionRow
  plan: Plan
}

/**
 * The user's live subscription at this moment, with its plan: periods rolled
 * over lazily, ended subscriptions replaced by the default plan, and a user
 * without one put on the default plan. null when no usable plan exists.
 */
export async function ensureLiveSubscription(
  ctx: SubscriptionContext,
  userId: string,
): Promise<LiveSubscription | null> {
  const { db } = ctx.database
  return retryOnConflict(async () => {
    const now = nowSeconds(ctx.clock)
    const sub = await findLiveSubscription(db, userId)
    if (!sub) {
      const started = await startDefaultSubscription(ctx, db, userId, now)
      if (started === 'no_default_plan') return null
      return AGAIN
    }
    const planRow = await findPlan(db, sub.plan_id)
    const plan = planRow ? planFromRow(planRow) : undefined
    const decision = decideRollover(sub, plan, now, ctx.config.yookassa.graceSeconds)
    // A plan edited "from the next period" leaves this period its earlier quotas (kept-quotas.ts).
    if (decision.kind === 'current' && plan) {
      return { subscription: sub, plan: quotasInForce(plan, sub) }
    }

    if (decision.kind === 'roll') {
      const changes = {
        current_period_start: decision.period.start,
        current_period_end: decision.period.end,
        updated_at: now,
        ...(decision.pastDue
          ? { status: 'past_due' as const, grace_until: decision.pastDue.graceUntil }
          : {}),
      }
      if (await updateSubscriptionIf(db, sub, changes)) {
        ctx.logger.info(
          {
            userId,
            subscriptionId: sub.id,
            periodStart: decision.period.start,
            pastDue: !!decision.pastDue,
          },
          'BILLING subscription period rolled over',
        )
      }
      return AGAIN
    }
    if (decision.kind === 'end') {
      if (await updateSubscriptionIf(db, sub, { status: decision.status, updated_at: now })) {
        ctx.logger.info(
          { userId, subscriptionId: sub.id, planId: sub.plan_id, status: decision.status },
          'BILLING subscription ended, back to the default plan',
        )
      }
    }
    return AGAIN
  })
}

/**
 * Puts the user on the default plan (a no-op if another writer gave them a
 * subscription). Usage belongs to the user, not to the row: a user who had the
 * default plan before gets that same subscription back, with its period anchor,
 * so within one of its periods they find the counters they left (a paid plan
 * bought, canceled, refunded or expired in between changes nothing). Only a
 * user who never had it starts a new one, anchored at `now`.
 */
export async function startDefaultSubscription(
  ctx: SubscriptionContext,
  db: Db,
  userId: string,
  now: number,
): Promise<'started' | 'exists' | 'no_default_plan'> {
  const planRow = await findDefaultPlan(ctx, db)
  if (!planRow) return 'no_default_plan'
  const plan = planFromRow(planRow)
  const before = await findLatestSubscriptionToPlan(db, userId, plan.id)
  if (before) {
    const period = periodContaining(before.period_anchor, plan.interval, now)
    const revived = await reviveSubscriptionIf(db, before, {
      current_period_start: period.start,
      current_period_end: period.end,
      paid_until: null,
      cancel_at_period_end: 0,
      auto_renew: 0,
      payment_method_id: null,
      grace_until: null,
      updated_at: now,
    })
    return revived ? 'started' : 'exists'
  }
  const inserted = await insertLiveSubscription(
    db,
    newSubscriptionRow(ctx, userId, plan, now, null),
  )
  return inserted ? 'started' : 'exists'
}

/**
 * The default plan's row when it is active. A default this process read before
 * it was replaced (within the cache's bound) may name a plan deactivated with
 * it: then the setting is read again, so no user is left without a plan.
 */
async function findDefaultPlan(ctx: SubscriptionContext, db: Db) {
  const cached = await ctx.defaultPlan.id(db)
  const row = await findPlan(db, cached)
  if (row?.is_active) return row
  const current = await ctx.defaultPlan.fresh(db)
  const latest = current === cached ? row : await findPlan(db, current)
  return latest?.is_active ? latest : undefined
}

/** A fresh live subscription row anchored at `now`; paidPeriods null for an unpaid (free) one. */
export function newSubscriptionRow(
  ctx: Pick<SubscriptionContext, 'ids'>,
  userId: string,
  plan: Plan,
  now: number,
  paidPeriods: number | null,
): SubscriptionRow {
  const period = periodContaining(now, plan.interval, now)
  return {
    id: ctx.ids.next(),
    user_id: userId,
    plan_id: plan.id,
    status: 'active',
    current_period_start: period.start,
    current_period_end: period.end,
    period_anchor: now,
    paid_until: paidPeriods === null ? null : addInterval(now, plan.interval, paidPeriods),
    cancel_at_period_end: 0,
    auto_renew: 0,
    payment_method_id: null,
    grace_until: null,
    kept_quotas: null,
    kept_quotas_period: null,
    version: 0,
    created_at: now,
    updated_at: now,
  }
}
