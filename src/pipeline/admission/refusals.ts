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

/** What a full rate window said (ledger/service.ts, reason 'rate'). */
export interface RateRefusal {
  window: 'requests_per_minute' | 'tokens_per_minute' | 'requests_per_day' | 'tokens_per_day'
  limit: number
  used: number
  resetAt: number
}

/**
 * A rate window of the plan is full (docs/quotas.md): a 429 rate_limit_exceeded that
 * lifts when the window ends, so the official SDKs retry it after Retry-After. The
 * x-ratelimit-* headers are OpenAI's names, for the window that refused (its requests
 * or its tokens); the reset is a duration as OpenAI writes it ("17s", "3h2m5s").
 */
export function rateWindowFull(
  deps: Pick<PipelineDeps, 'clock' | 'metrics'>,
  refusal: RateRefusal,
): GatewayError {
  deps.metrics.quotaRefusals.inc({ metric: refusal.window })
  const wait = Math.max(1, refusal.resetAt - nowSeconds(deps.clock))
  const kind = refusal.window.startsWith('tokens_') ? 'tokens' : 'requests'
  return new GatewayError(
    'rate_limit_exceeded',
    `Rate limit reached for ${refusal.window}: ${refusal.used} of ${refusal.limit} used in this window; retry in ${wait} s`,
    {
      param: refusal.window,
      headers: {
        'retry-after': String(wait),
        [`x-ratelimit-limit-${kind}`]: String(refusal.limit),
        [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, refusal.limit - refusal.used)),
        [`x-ratelimit-reset-${kind}`]: duration(wait),
      },
    },
  )
}

/** Seconds as OpenAI writes a reset: 59s, 1m0s, 2h3m4s. */
function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`
}

/**
 * The x-ratelimit-* headers of a successful answer: per kind (requests, tokens), the
 * plan's window with the least left after this request; none for a plan without windows.
 */
export function rateLimitHeaders(
  windows: Array<{
    window: RateRefusal['window']
    limit: number
    remaining: number
    resetAt: number
  }>,
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const kind of ['requests', 'tokens'] as const) {
    const tightest = windows
      .filter((w) => w.window.startsWith(`${kind}_`))
      .sort((a, b) => a.remaining - b.remaining)[0]
    if (!tightest) continue
    headers[`x-ratelimit-limit-${kind}`] = String(tightest.limit)
    headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, tightest.remaining))
    headers[`x-ratelimit-reset-${kind}`] = duration(Math.max(1, tightest.resetAt - now))
  }
  return headers
}
