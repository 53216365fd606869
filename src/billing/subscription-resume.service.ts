import type { SubscriptionRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { AGAIN, retryOnConflict } from './subscription-races.ts'
import { updateSubscriptionIf } from './subscriptions.repo.ts'
import { ensureLiveSubscription } from './subscriptions.service.ts'

/**
 * POST /subscription/resume: takes back a cancel-at-period-end while the paid time still runs.
 * Auto-renewal comes back only when the gateway renews (yookassa.autoRenew) and a saved card
 * is still on file; otherwise the subscription simply runs to its end and the payer pays again
 * (the page says which). A subscription that is not set to end answers 400 and changes nothing.
 */
export async function resumeSubscription(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  userId: string,
): Promise<SubscriptionRow> {
  return retryOnConflict(async () => {
    const live = await ensureLiveSubscription(deps, userId)
    if (!live) throw new DomainError('not_found', 'You have no subscription')
    const sub = live.subscription
    if (!sub.cancel_at_period_end) {
      throw new DomainError(
        'invalid_request',
        'The subscription is not set to end: nothing to resume',
      )
    }
    const now = nowSeconds(deps.clock)
    if (sub.status !== 'active' || sub.paid_until === null || sub.paid_until <= now) {
      throw new DomainError('invalid_request', 'The paid time has ended: choose a plan again')
    }
    const renews = deps.config.yookassa.autoRenew && sub.payment_method_id !== null
    const changes = { cancel_at_period_end: 0, auto_renew: renews ? 1 : 0, updated_at: now }
    if (!(await updateSubscriptionIf(deps.database.db, sub, changes))) return AGAIN
    deps.entitlements.invalidate(userId)
    deps.logger.info({ subscriptionId: sub.id, userId, autoRenew: renews }, 'subscription resumed')
    return { ...sub, ...changes, version: sub.version + 1 }
  })
}
