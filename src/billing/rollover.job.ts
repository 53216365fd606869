import { nowSeconds } from '../lib/clock.ts'
import type { BillingDeps } from './billing-deps.ts'
import { listUsersDueForRollover } from './subscriptions.repo.ts'
import { ensureLiveSubscription } from './subscriptions.service.ts'

const BATCH = 500

/**
 * The background half of rollover: brings ended periods up to date (the next
 * period, or the end of a canceled/expired paid plan and the default plan in
 * its place) for users who make no request. Correctness never waits for it,
 * every read rolls over lazily; it keeps statuses and admin lists true. Safe
 * on several replicas at once: each change is guarded by the row's version.
 */
export async function rollOverEndedSubscriptions(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
): Promise<number> {
  const users = await listUsersDueForRollover(deps.database.db, nowSeconds(deps.clock), BATCH)
  let rolled = 0
  for (const userId of users) {
    try {
      await ensureLiveSubscription(deps, userId)
      deps.entitlements.invalidate(userId)
      rolled++
    } catch (error) {
      deps.logger.warn({ err: error, userId }, 'BILLING rollover of a subscription failed')
    }
  }
  if (rolled > 0) deps.logger.info({ rolled }, 'BILLING subscriptions rolled over')
  return rolled
}
