import type { SubscriptionRow } from '../../db/tables.ts'
import type { Metric } from './amounts.ts'

/**
 * Per metric null = unlimited. max_concurrent_requests: null = unlimited, absent = the
 * gateway's quota.defaultMaxConcurrentRequests (see maxConcurrentRequests).
 */
export type PlanQuotas = Record<Metric, number | null> & { max_concurrent_requests?: number | null }

/** The in-flight requests a user of the plan may have at once; null = unlimited. */
export function maxConcurrentRequests(
  plan: { quotas: PlanQuotas },
  quota: { defaultMaxConcurrentRequests: number | null },
): number | null {
  const own = plan.quotas.max_concurrent_requests
  return own === undefined ? quota.defaultMaxConcurrentRequests : own
}

/**
 * What the ledger needs of an entitlement (billing/entitlements.ts): whose
 * requests, which period's counters, and the limits. The ledger stands below
 * billing, so it names only these fields.
 */
export interface QuotaHolder {
  userId: string
  subscription: Pick<SubscriptionRow, 'id' | 'current_period_start' | 'current_period_end'>
  plan: { quotas: PlanQuotas }
}
