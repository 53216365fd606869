import { ensureCounters } from '../ledger/counters.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { createTtlCache } from '../lib/ttl-cache.ts'
import type { Entitlement, EntitlementCache } from './entitlement.ts'
import { ensureLiveSubscription, type SubscriptionContext } from './subscriptions.service.ts'

export type { Entitlement, EntitlementCache } from './entitlement.ts'

const MAX_ENTRIES = 100_000

/**
 * Keeps each user's entitlement for a short TTL so the hot path does not query
 * the plan and subscription per request. Staleness is bounded and harmless to
 * quotas: limits are enforced by the counters' conditional UPDATEs in the
 * database, and an entry is never used past its period's end.
 */
export function createEntitlementCache(ctx: SubscriptionContext): EntitlementCache {
  const entries = createTtlCache<Entitlement | null>(ctx.clock, MAX_ENTRIES)
  const ttlMs = ctx.config.billing.entitlementCacheMs

  async function load(userId: string): Promise<Entitlement | null> {
    const live = await ensureLiveSubscription(ctx, userId)
    if (!live) return null
    await ensureCounters(
      ctx.database.db,
      { subscriptionId: live.subscription.id, periodStart: live.subscription.current_period_start },
      nowSeconds(ctx.clock),
    )
    return { userId, ...live }
  }

  return {
    async get(userId) {
      const cached = entries.get(userId)
      if (cached !== undefined) return cached
      const value = await load(userId)
      // Never kept past the end of the period it describes.
      const periodEnd = value
        ? value.subscription.current_period_end * 1000
        : Number.POSITIVE_INFINITY
      if (ttlMs > 0) entries.set(userId, value, Math.min(ctx.clock.now() + ttlMs, periodEnd))
      return value
    },
    invalidate(userId) {
      if (userId === undefined) entries.clear()
      else entries.delete(userId)
    },
  }
}
