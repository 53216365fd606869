import { GatewayError } from '../../http/errors.ts'
import type { Metric } from '../../ledger/amounts.ts'
import { nowSeconds } from '../../lib/clock.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { billingUrl } from './soft-limits.ts'

/** What the counters said when they refused: the quota's 429 names it. */
export interface QuotaRefusal {
  metric: Metric
  requested: number
  used: number
  limit: number
  periodEnd: number
}

/**
 * The 429 of a quota spent (docs/reference/API.md): only time or payment lifts it, so the
 * message says when the quota resets and, when PUBLIC_URL is set, where to pay; x-quota-reset
 * carries the reset as epoch seconds, as on successful answers.
 */
export function quotaExceeded(
  deps: Pick<PipelineDeps, 'clock' | 'config' | 'metrics'>,
  refusal: QuotaRefusal,
): GatewayError {
  deps.metrics.quotaRefusals.inc({ metric: refusal.metric })
  const retryAfter = Math.max(1, refusal.periodEnd - nowSeconds(deps.clock))
  const resetsAt = new Date(refusal.periodEnd * 1000).toISOString().replace('.000Z', 'Z')
  const billing = billingUrl(deps.config.server.publicUrl)
  return new GatewayError(
    'insufficient_quota',
    `Quota exceeded for ${refusal.metric}: requested ${refusal.requested}, used ${refusal.used} of ${refusal.limit} this period. ` +
      `It resets at ${resetsAt}${billing ? `; to continue sooner, upgrade your plan at ${billing}` : ''}`,
    {
      param: refusal.metric,
      // x-should-retry: false stops the official SDKs from retrying what only time or payment lifts.
      headers: {
        'retry-after': String(retryAfter),
        'x-should-retry': 'false',
        'x-quota-reset': String(refusal.periodEnd),
      },
    },
  )
}

/**
 * The plan's max_concurrent_requests are in flight: a 429 that, unlike a quota
 * refusal, lifts as soon as one of them ends, so the official SDKs may retry it
 * (type and code rate_limit_exceeded, Retry-After 1, no x-should-retry: false).
 */
export function tooManyInFlight(deps: Pick<PipelineDeps, 'metrics'>, limit: number): GatewayError {
  deps.metrics.quotaRefusals.inc({ metric: 'max_concurrent_requests' })
  return new GatewayError(
    'rate_limit_exceeded',
    `Too many requests in flight: your plan allows ${limit} at once; retry when one ends`,
    { param: 'max_concurrent_requests', headers: { 'retry-after': '1' } },
  )
}
