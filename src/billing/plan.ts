import type { PlanRow } from '../../db/tables.ts'
import { METRICS } from '../ledger/amounts.ts'
import { maxConcurrentRequests, type PlanQuotas, RATE_WINDOWS } from '../ledger/quotas.ts'
import { moneyToNumber } from '../lib/money.ts'

export type Interval = PlanRow['interval']

/** A plan as the code uses it: parsed JSON, kopecks, booleans. */
export interface Plan {
  id: string
  name: string
  name_ru: string | null
  description: string | null
  description_ru: string | null
  /** Kopecks. */
  price: number
  currency: string
  interval: Interval
  quotas: PlanQuotas
  features: string[]
  is_active: boolean
  display_order: number
  created_at: number
  updated_at: number
}

export function planFromRow(row: PlanRow): Plan {
  const stored = JSON.parse(row.quotas) as Partial<PlanQuotas>
  const quotas = Object.fromEntries(
    METRICS.map((m) => [m, stored[m] ?? null]),
  ) as unknown as PlanQuotas
  if (stored.max_concurrent_requests !== undefined) {
    quotas.max_concurrent_requests = stored.max_concurrent_requests
  }
  for (const window of RATE_WINDOWS) {
    if (stored[window] != null) quotas[window] = stored[window]
  }
  if (stored.window_time_zone != null) quotas.window_time_zone = stored.window_time_zone
  return {
    ...row,
    price: Number(row.price),
    quotas,
    features: JSON.parse(row.features) as string[],
    is_active: Boolean(row.is_active),
  }
}

/**
 * The plan as the API shows it: price as a JSON number (the seed's shape), exact to the kopeck.
 * Given the gateway's quota defaults, quotas.max_concurrent_requests is the limit in force;
 * without them (an export meant for import) it is what the plan itself sets, if anything.
 */
export function planToJson(plan: Plan, quota?: { defaultMaxConcurrentRequests: number | null }) {
  return {
    id: plan.id,
    name: plan.name,
    name_ru: plan.name_ru,
    description: plan.description,
    description_ru: plan.description_ru,
    price: moneyToNumber(plan.price),
    currency: plan.currency,
    interval: plan.interval,
    quotas: quota
      ? { ...plan.quotas, max_concurrent_requests: maxConcurrentRequests(plan, quota) }
      : plan.quotas,
    features: plan.features,
    is_active: plan.is_active,
    display_order: plan.display_order,
    created_at: plan.created_at,
    updated_at: plan.updated_at,
  }
}
