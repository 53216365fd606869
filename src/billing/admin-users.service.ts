import { METRICS } from '../ledger/amounts.ts'
import { type PeriodUsage, readPeriodUsages } from '../ledger/usage.service.ts'
import { lastUsageAt } from '../ledger/usage-history.repo.ts'
import { listLiveSubscriptionsOfUsers } from './admin-users.repo.ts'
import type { BillingDeps } from './billing-deps.ts'
import { type Plan, planFromRow } from './plan.ts'
import { listPlans } from './plans.repo.ts'

/** The console lists at most this many users per search: narrow the search to see others. */
const MAX_ROWS = 200

/**
 * Users on a live subscription, with each metric's use of its limit in the
 * current period and their last metered request: the console's user list.
 * `sort: 'usage'` puts whoever is closest to a limit first.
 */
export async function listUsersWithUsage(
  deps: Pick<BillingDeps, 'database'>,
  query: { q?: string; sort: 'usage' | 'newest' },
) {
  const { db } = deps.database
  const subscriptions = await listLiveSubscriptionsOfUsers(db, { q: query.q, limit: MAX_ROWS })
  const plans = new Map<string, Plan>(
    (await listPlans(db, { activeOnly: false })).map((r) => [r.id, planFromRow(r)]),
  )
  const usage = await readPeriodUsages(db, subscriptions, plans)
  const last = await lastUsageAt(
    db,
    subscriptions.map((s) => s.user_id),
  )
  const rows = subscriptions.map((subscription) => {
    const periodUsage = usage.get(subscription.id)!
    return {
      subscription,
      email: subscription.email,
      plan: plans.get(subscription.plan_id),
      usage: periodUsage,
      highestShare: highestShare(periodUsage),
      lastRequestAt: last.get(subscription.user_id) ?? null,
    }
  })
  if (query.sort === 'usage') rows.sort((a, b) => b.highestShare - a.highestShare)
  return { rows, truncated: subscriptions.length === MAX_ROWS }
}

/** The largest (used + reserved) / limit over the metrics; 0 when every metric is unlimited. */
function highestShare(usage: PeriodUsage): number {
  return Math.max(
    0,
    ...METRICS.map((m) => {
      const { used, reserved, limit } = usage[m]
      if (limit === null) return 0
      return limit === 0 ? 1 : (used + reserved) / limit
    }),
  )
}
