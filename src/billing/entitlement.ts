import type { SubscriptionRow } from '../../db/tables.ts'
import type { Plan } from './plan.ts'

/*
 * The entitlement's types in a file of their own: the billing room's collaborators
 * (billing-deps.ts) name the cache, and the cache's code (entitlements.ts) reads the
 * subscription rules that take those collaborators.
 */

/** What a user may do right now: their live subscription, its plan and current period. */
export interface Entitlement {
  userId: string
  subscription: SubscriptionRow
  plan: Plan
}

export interface EntitlementCache {
  /**
   * The user's live subscription and plan, rolled over to the current period
   * if it ended; a user with none is put on the default plan. null when there
   * is no usable plan (the proxy answers 402 no_subscription).
   */
  get(userId: string): Promise<Entitlement | null>
  /** Forget a user's entry (or everyone's) after a change made in this process. */
  invalidate(userId?: string): void
}
