import type { Db, SubscriptionRow } from '../../db/tables.ts'
import { readPeriodUsages } from '../ledger/usage.service.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { grantState } from './grant-preview.ts'
import { type Plan, planFromRow } from './plan.ts'
import { findPlan, listPlans } from './plans.repo.ts'
import { grantPlan } from './subscription-changes.ts'
import { retryOnConflict } from './subscription-races.ts'
import { findLiveSubscription, listSubscriptions } from './subscriptions.repo.ts'
import { ensureLiveSubscription, type LiveSubscription } from './subscriptions.service.ts'

/**
 * An admin gives `userId` the plan for `periods` periods from now: the live
 * subscription (if any) ends as canceled and a paid plan starts with a fresh
 * period and quota; the default plan comes back with the user's usage
 * (grantPlan). Inactive plans may be granted (special offers).
 */
export async function grantSubscription(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  input: {
    userId: string
    planId: string
    periods: number
    /** The state the operator confirmed (grantState): refused (409) if the subscription changed since. */
    expectState?: string
    /** Runs in the grant's transaction (the console's audit record), with the rows before and after. */
    record?: (trx: Db, before: SubscriptionRow | undefined, after: SubscriptionRow) => Promise<void>
  },
): Promise<LiveSubscription> {
  const row = await findPlan(deps.database.db, input.planId)
  if (!row) {
    throw new DomainError('not_found', `No plan with id "${input.planId}"`, { param: 'plan_id' })
  }
  const plan = planFromRow(row)
  // A concurrent request may put the user on the default plan between our read and insert.
  const subscription = await retryOnConflict(() =>
    deps.database.db.transaction().execute(async (trx) => {
      const before = await findLiveSubscription(trx, input.userId)
      if (input.expectState !== undefined && grantState(before) !== input.expectState) {
        throw new DomainError(
          'conflict',
          "The user's subscription changed since this grant was reviewed: review it again",
        )
      }
      const after = await grantPlan(deps, trx, {
        userId: input.userId,
        plan,
        periods: input.periods,
        now: nowSeconds(deps.clock),
      })
      await input.record?.(trx, before, after)
      return after
    }),
  )
  deps.entitlements.invalidate(input.userId)
  deps.logger.info(
    { userId: input.userId, planId: plan.id, periods: input.periods },
    'BILLING plan granted by an admin',
  )
  return { subscription, plan }
}

/**
 * Subscriptions newest first (UUIDv7 ids), with each one's usage in its current
 * period. Filtered by user, the user's live subscription is first brought up
 * to date (rolled over, or ended back to the default plan) as their next
 * request would; a user who never had one is not given one by looking.
 */
export async function listSubscriptionsWithUsage(
  deps: Pick<BillingDeps, 'clock' | 'config' | 'database' | 'defaultPlan' | 'ids' | 'logger'>,
  query: { userId?: string; limit: number; cursor?: string },
) {
  const { db } = deps.database
  if (query.userId && (await findLiveSubscription(db, query.userId))) {
    await ensureLiveSubscription(deps, query.userId)
  }
  const rows = await listSubscriptions(db, {
    userId: query.userId,
    limit: query.limit + 1,
    before: query.cursor,
  })
  const page = rows.slice(0, query.limit)
  const plans = new Map<string, Plan>(
    (await listPlans(db, { activeOnly: false })).map((r) => [r.id, planFromRow(r)]),
  )
  const usage = await readPeriodUsages(db, page, plans)
  return {
    rows: page.map((subscription) => ({ subscription, usage: usage.get(subscription.id)! })),
    nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
  }
}
