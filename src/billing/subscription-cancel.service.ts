import type { SubscriptionRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { endNowToDefault } from './subscription-changes.ts'
import { AGAIN, retryOnConflict, SubscriptionConflict } from './subscription-races.ts'
import {
  findLiveSubscription,
  findSubscription,
  updateSubscriptionIf,
} from './subscriptions.repo.ts'
import { ensureLiveSubscription } from './subscriptions.service.ts'

/**
 * POST /subscription/cancel. `immediate`: the subscription ends now (canceled)
 * and the user is back on the default plan, their own earlier one with its
 * usage when they had it (startDefaultSubscription). Otherwise it
 * stays active with its quota until its paid time ends, renews no more, and
 * then ends as canceled (rollover.ts). The default plan itself cannot be
 * canceled: it is what a user without a subscription is on. Answers the
 * canceled (or cancel-scheduled) subscription.
 */
export async function cancelSubscription(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  userId: string,
  { immediate }: { immediate: boolean },
): Promise<SubscriptionRow> {
  return retryOnConflict(async () => {
    const live = await ensureLiveSubscription(deps, userId)
    if (!live) throw new DomainError('not_found', 'You have no subscription')
    const sub = live.subscription
    if (sub.plan_id === (await deps.defaultPlan.id(deps.database.db))) {
      throw new DomainError('invalid_request', 'The default plan cannot be canceled', {
        param: 'plan_id',
      })
    }
    const now = nowSeconds(deps.clock)
    if (immediate) {
      const ended = await endImmediately(deps, sub, now)
      if (!ended) return AGAIN
      deps.entitlements.invalidate(userId)
      return (await findSubscription(deps.database.db, sub.id)) ?? sub
    }
    if (sub.cancel_at_period_end && !sub.auto_renew) return sub
    // auto_renew off too, so the renewal job never charges a card for a canceled plan.
    const changes = { cancel_at_period_end: 1, auto_renew: 0, updated_at: now }
    if (await updateSubscriptionIf(deps.database.db, sub, changes)) {
      deps.entitlements.invalidate(userId)
      return { ...sub, ...changes, version: sub.version + 1 }
    }
    return AGAIN
  })
}

/** Ends exactly the subscription the caller saw (false when it changed meanwhile: retry). */
async function endImmediately(
  deps: Pick<BillingDeps, 'clock' | 'config' | 'database' | 'defaultPlan' | 'ids' | 'logger'>,
  sub: SubscriptionRow,
  now: number,
): Promise<boolean> {
  try {
    await deps.database.db.transaction().execute(async (trx) => {
      const live = await findLiveSubscription(trx, sub.user_id)
      if (live?.id !== sub.id || live.version !== sub.version) throw new SubscriptionConflict()
      await endNowToDefault(deps, trx, { userId: sub.user_id, now, endAs: 'canceled' })
    })
    return true
  } catch (error) {
    if (error instanceof SubscriptionConflict) return false
    throw error
  }
}
