import type { SubscriptionRow } from '../../db/tables.ts'
import type { Metric } from './amounts.ts'

/**
 * Per metric null = unlimited. max_concurrent_requests: null = unlimited, absent = the
 * gateway's quota.defaultMaxConcurrentRequests (see maxConcurrentRequests).
 */
export type PlanQuotas = Record<Metric, number | null> & {
  max_concurrent_requests?: number | null
} & Partial<Record<RateWindow, number | null>> & {
    /** The IANA time zone the day windows turn over in (absent: UTC). */
    window_time_zone?: string | null
  }

/**
 * The rate windows a plan may set (docs/quotas.md): fixed windows aligned to the
 * minute and to the day in the plan's time zone; tokens are weighted input + output.
 * Absent or null = no window.
 */
export const RATE_WINDOWS = [
  'requests_per_minute',
  'tokens_per_minute',
  'requests_per_day',
  'tokens_per_day',
] as const
export type RateWindow = (typeof RATE_WINDOWS)[number]

/** Whether the plan sets any rate window (a plan without one is admitted exactly as before). */
export const hasRateWindows = (quotas: PlanQuotas) =>
  RATE_WINDOWS.some((window) => quotas[window] != null)

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
