import { listApiKeys } from '../auth/api-keys.service.ts'
import type { Principal } from '../auth/principal.ts'
import { listPacks } from '../billing/packs.repo.ts'
import { listActivePlans } from '../billing/plans.service.ts'
import { ensureLiveSubscription } from '../billing/subscriptions.service.ts'
import type { Deps } from '../deps.ts'
import { readUserPacks } from '../ledger/packs/packs-view.ts'
import { periodClassTotals } from '../ledger/usage.repo.ts'
import { readPeriodUsage } from '../ledger/usage.service.ts'
import { startOfDay, usageByDay } from '../ledger/usage-history.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { OWN_SETTLES_WAIT_MS } from '../lib/pending-writes.ts'
import { unclaimedDiscounts } from '../payments/promo-codes.repo.ts'
import { listCallerTransactions } from '../payments/transactions.service.ts'
import { lastDays } from './components.tsx'

const CHART_DAYS = 30
const HISTORY_ROWS = 20

/**
 * Everything the billing page shows, read through the API's own services
 * (the same subscription upkeep, counters, plans, transactions and keys as
 * GET /me, /plans, /transactions and /keys), so the page cannot disagree with the API.
 */
export async function loadBillingView(
  deps: Pick<
    Deps,
    | 'clock'
    | 'config'
    | 'database'
    | 'defaultPlan'
    | 'entitlements'
    | 'ids'
    | 'logger'
    | 'pendingSettles'
    | 'yookassa'
  >,
  viewer: Principal,
) {
  const now = nowSeconds(deps.clock)
  // Read-your-writes, as the API's usage reads (http/middleware/read-your-writes.ts).
  await deps.pendingSettles.settled(viewer.userId, OWN_SETTLES_WAIT_MS)
  const live = await ensureLiveSubscription(deps, viewer.userId)
  const [usage, classes, daily, plans, history, keys] = await Promise.all([
    live ? readPeriodUsage(deps.database.db, live.subscription, live.plan) : null,
    // The period's token classes, as /me's token_classes (routes/billing/me.ts).
    live
      ? periodClassTotals(deps.database.db, {
          userId: viewer.userId,
          subscriptionId: live.subscription.id,
          from: live.subscription.current_period_start,
        })
      : null,
    usageByDay(deps.database.db, viewer.userId, startOfDay(now) - (CHART_DAYS - 1) * 86_400),
    listActivePlans(deps),
    listCallerTransactions(deps, viewer, { limit: HISTORY_ROWS }),
    listApiKeys(deps, viewer.userId),
  ])
  // Discounts redeemed and not yet taken by a checkout: the payer sees what their next payment costs.
  const waitingDiscounts = await unclaimedDiscounts(deps.database.db, viewer.userId)
  const [packsForSale, packs] = await Promise.all([
    listPacks(deps.database.db, { activeOnly: true }),
    readUserPacks(deps.database.db, viewer.userId, now),
  ])
  return {
    live,
    usage,
    classes,
    days: lastDays(daily, now, CHART_DAYS),
    plans,
    transactions: history.data,
    keys,
    paymentsEnabled: deps.yookassa !== null,
    defaultPlanId: await deps.defaultPlan.id(deps.database.db),
    waitingDiscounts,
    /** Prepaid packs on sale, and those the payer holds (docs/quotas.md, "Prepaid packs"). */
    packsForSale,
    packs,
    softLimitPercents: deps.config.notifications.softLimitPercents,
    /** Feature -> model patterns: the plan cards list the models a plan opens. */
    featureModels: deps.config.features,
    now,
  }
}

export type BillingView = Awaited<ReturnType<typeof loadBillingView>>
