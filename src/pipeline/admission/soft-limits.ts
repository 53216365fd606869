import type { Entitlement } from '../../billing/entitlements.ts'
import { METRICS, type Metric } from '../../ledger/amounts.ts'
import { notifyUser } from '../../notify/notify.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'

/** A soft limit a metric has reached: `percent` is one of notifications.softLimitPercents. */
export interface SoftLimitHit {
  metric: Metric
  percent: number
}

/**
 * The highest soft limit each limited metric has reached, given what remains once this
 * request's reservation is counted (the reservation is what the request may spend).
 */
export function softLimitsReached(
  percents: readonly number[],
  limits: Record<Metric, number | null>,
  remaining: Record<Metric, number | null>,
): SoftLimitHit[] {
  const hits: SoftLimitHit[] = []
  for (const metric of METRICS) {
    const limit = limits[metric]
    const left = remaining[metric]
    if (limit === null || left === null || limit <= 0) continue
    // Integers only: spent x 100 >= limit x percent, no rounding at the edges.
    const spent = limit - Math.max(0, left)
    const reached = percents.filter((percent) => spent * 100 >= limit * percent)
    if (reached.length > 0) hits.push({ metric, percent: Math.max(...reached) })
  }
  return hits
}

/** The x-quota-warning header: `requests=80, tokens_input=100` (metric=percent reached). */
export function softLimitHeader(hits: readonly SoftLimitHit[]): string | null {
  if (hits.length === 0) return null
  return hits.map((hit) => `${hit.metric}=${hit.percent}`).join(', ')
}

/**
 * Records the quota.threshold webhook of each hit, once per subscription, period, metric and
 * percent (the outbox's unique key; across replicas too). The process remembers what it
 * recorded until the period ends, so a user past 80 % costs one insert per process, not one a
 * request. A process that dies before the insert loses nothing: the next request above the
 * threshold records it.
 */
export async function recordSoftLimits(
  deps: Pick<PipelineDeps, 'config' | 'clock' | 'ids' | 'database' | 'logger' | 'softLimitsSeen'>,
  entitlement: Entitlement,
  hits: readonly SoftLimitHit[],
): Promise<void> {
  if (!deps.config.notifications.webhookUrl) return
  const { subscription, plan } = entitlement
  for (const { metric, percent } of hits) {
    const key = `quota:${subscription.id}:${subscription.current_period_start}:${metric}:${percent}`
    if (deps.softLimitsSeen.get(key)) continue
    // A warning never costs the request its answer: a failed insert is logged, not remembered,
    // and the next request past the threshold records it.
    try {
      await notifyUser(deps, entitlement.userId, {
        type: 'quota.threshold',
        dedupeKey: key,
        data: {
          metric,
          percent,
          limit: plan.quotas[metric],
          plan_id: plan.id,
          period_start: subscription.current_period_start,
          period_end: subscription.current_period_end,
          billing_url: billingUrl(deps.config.server.publicUrl),
        },
      })
    } catch (error) {
      deps.logger.warn(
        { err: error, userId: entitlement.userId, metric },
        'soft-limit not recorded',
      )
      continue
    }
    deps.softLimitsSeen.set(key, true, subscription.current_period_end * 1000)
  }
}

/** The payer's page, when the gateway knows where it is reached. */
export function billingUrl(publicUrl: string | undefined): string | null {
  return publicUrl ? new URL('/billing', publicUrl).toString() : null
}
