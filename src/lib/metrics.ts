import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Histogram,
  type LabelValues,
  Registry,
} from 'prom-client'
import { createModelLabeler } from './model-label.ts'

/** Known YooKassa events; any other event name (a notification's text) is labelled `other`. */
const WEBHOOK_EVENTS = new Set([
  'payment.succeeded',
  'payment.waiting_for_capture',
  'payment.canceled',
  'refund.succeeded',
])

/**
 * Prometheus metrics, one registry per app instance (tests build several).
 * No label takes a value straight from a request: models go through
 * `modelLabel` (configured patterns or `other`), webhook events through
 * `webhookEventLabel`, so /metrics stays bounded whatever clients send.
 */
export function createMetrics({
  defaults = true,
  modelPatterns = [],
}: {
  defaults?: boolean
  modelPatterns?: readonly string[]
} = {}) {
  const registry = new Registry()
  if (defaults) collectDefaultMetrics({ register: registry })
  return {
    registry,
    modelLabel: createModelLabeler(modelPatterns),
    webhookEventLabel: (event: string) => (WEBHOOK_EVENTS.has(event) ? event : 'other'),
    httpRequests: batchedCounter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Time to the response headers, by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    tokens: batchedCounter({
      name: 'gateway_tokens_total',
      help: 'Tokens metered, by metric and model (a configured model pattern, or other)',
      labelNames: ['metric', 'model'] as const,
      registers: [registry],
    }),
    quotaRefusals: new Counter({
      name: 'gateway_quota_refusals_total',
      help: 'Requests refused for quota, by metric',
      labelNames: ['metric'] as const,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'gateway_upstream_errors_total',
      help: 'Upstream failures, by kind (status, timeout, reset)',
      labelNames: ['upstream', 'kind'] as const,
      registers: [registry],
    }),
    // Per upstream and key (the key's environment variable name, never the key): the failover
    // loop's view (src/pipeline/upstream/failover.ts), read by /admin's health too.
    upstreamRequests: batchedCounter({
      name: 'gateway_upstream_requests_total',
      help: 'Attempts sent upstream, by upstream and key',
      labelNames: ['upstream', 'key'] as const,
      registers: [registry],
    }),
    upstreamFailures: new Counter({
      name: 'gateway_upstream_failures_total',
      help: 'Failed upstream attempts, by kind (rate_limited, server_error, timeout, connect, auth, credit)',
      labelNames: ['upstream', 'key', 'kind'] as const,
      registers: [registry],
    }),
    upstreamCooldowns: new Counter({
      name: 'gateway_upstream_cooldowns_total',
      help: 'Keys put to rest, by reason (rate_limited, failing, refused)',
      labelNames: ['upstream', 'key', 'reason'] as const,
      registers: [registry],
    }),
    upstreamAlerts: new Counter({
      name: 'gateway_upstream_operator_alerts_total',
      help: "Keys the upstream refused (auth: 401/403, credit: the operator's insufficient_quota), out of rotation until the recheck",
      labelNames: ['upstream', 'key', 'reason'] as const,
      registers: [registry],
    }),
    // A sum and a count, not a histogram: a Histogram validates and hashes its labels on every
    // observe, on every attempt of every request; the average per key is sum / count.
    upstreamLatency: batchedCounter({
      name: 'gateway_upstream_latency_seconds_total',
      help: "Time to the upstream answer's headers, summed, by upstream and key",
      labelNames: ['upstream', 'key'] as const,
      registers: [registry],
    }),
    upstreamAnswers: batchedCounter({
      name: 'gateway_upstream_answers_total',
      help: 'Upstream attempts that got an answer (the count of the latency sum), by upstream and key',
      labelNames: ['upstream', 'key'] as const,
      registers: [registry],
    }),
    ledgerBatchSize: new Histogram({
      name: 'gateway_ledger_batch_size',
      help: 'Ledger writes of one event-loop turn written together, by kind (reserve, close)',
      labelNames: ['kind'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    ledgerBatchRetries: new Counter({
      name: 'gateway_ledger_batch_retries_total',
      help: 'Ledger batches undone and retried one write at a time, by kind (a refusal or a cap in a reserve batch, or an error)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'gateway_webhook_events_total',
      help: 'YooKassa notifications, by event and outcome',
      labelNames: ['event', 'outcome'] as const,
      registers: [registry],
    }),
    usageRolledUp: new Counter({
      name: 'gateway_usage_rows_rolled_up_total',
      help: 'billing_usage rows summed into the daily rollup (billing_usage_daily)',
      registers: [registry],
    }),
    refusalsUnrecorded: new Counter({
      name: 'gateway_request_refusals_unrecorded_total',
      help: 'Admission refusals past the per-user cap of recorded ones (request_refusal), counted only',
      registers: [registry],
    }),
    usagePruned: new Counter({
      name: 'gateway_usage_rows_pruned_total',
      help: 'billing_usage rows deleted after the retention (usage.retentionDays), already rolled up',
      registers: [registry],
    }),
  }
}
export type Metrics = ReturnType<typeof createMetrics>

/**
 * A prom-client Counter that the request path increments through `add`: the amounts
 * are summed in a Map under a key the caller builds from the label values, and handed
 * to the Counter whenever it is read (its collect hook runs on /metrics,
 * registry.metrics() and counter.get()). Counter.inc() validates and hashes its labels
 * on every call; the proxy counts three times a request. Exposition is unchanged:
 * the same series, values and order (a series appears where its first add put it).
 */
function batchedCounter<T extends string>(config: CounterConfiguration<T>) {
  const pending = new Map<string, { labels: LabelValues<T>; value: number }>()
  const counter = new Counter<T>({
    ...config,
    collect() {
      for (const entry of pending.values()) counter.inc(entry.labels, entry.value)
      pending.clear()
    },
  })
  return Object.assign(counter, {
    /** inc(labels, value), deferred; `key` must differ whenever a label value does. */
    add(key: string, labels: LabelValues<T>, value = 1): void {
      // What Counter.inc would refuse is refused now, not at the next scrape.
      if (!Number.isFinite(value) || value < 0) {
        counter.inc(labels, value)
        return
      }
      const entry = pending.get(key)
      if (entry) entry.value += value
      else pending.set(key, { labels, value })
    },
  })
}
