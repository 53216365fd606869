import type { Kysely } from 'kysely'
import type { DB, SubscriptionRow } from '../../db/tables.ts'
import { METRICS, type Metric } from './amounts.ts'
import { readCounters, readCountersOf } from './counters.repo.ts'
import type { PlanQuotas } from './quotas.ts'

/** What usage needs of a plan: its limits. */
type Limits = { quotas: PlanQuotas }

/** One metric of one period, from the counters (never a sum over billing_usage). */
export interface MetricUsage {
  used: number
  reserved: number
  /** null = unlimited. */
  limit: number | null
  /** What another request may still take: limit - used - reserved, never below 0; null = unlimited. */
  remaining: number | null
}

export type PeriodUsage = Record<Metric, MetricUsage>

type Counter = { metric: Metric; used: number; reserved: number }

function toUsage(plan: Limits | undefined, counters: Counter[]): PeriodUsage {
  return Object.fromEntries(
    METRICS.map((metric) => {
      const counter = counters.find((c) => c.metric === metric)
      // No counter row yet: nothing was reserved in this period.
      const used = Number(counter?.used ?? 0)
      const reserved = Number(counter?.reserved ?? 0)
      const limit = plan ? plan.quotas[metric] : null
      const remaining = limit === null ? null : Math.max(0, limit - used - reserved)
      return [metric, { used, reserved, limit, remaining }]
    }),
  ) as PeriodUsage
}

/** The subscription's usage in its current period. */
export async function readPeriodUsage(
  db: Kysely<DB>,
  subscription: SubscriptionRow,
  plan: Limits,
): Promise<PeriodUsage> {
  const counters = await readCounters(db, {
    subscriptionId: subscription.id,
    periodStart: subscription.current_period_start,
  })
  return toUsage(plan, counters as Counter[])
}

/** Usage of many subscriptions' current periods in one query (the admin list). */
export async function readPeriodUsages(
  db: Kysely<DB>,
  subscriptions: SubscriptionRow[],
  plans: Map<string, Limits>,
): Promise<Map<string, PeriodUsage>> {
  const counters = await readCountersOf(
    db,
    subscriptions.map((s) => ({ subscriptionId: s.id, periodStart: s.current_period_start })),
  )
  const result = new Map<string, PeriodUsage>()
  for (const sub of subscriptions) {
    const own = counters.filter(
      (c) => c.subscription_id === sub.id && Number(c.period_start) === sub.current_period_start,
    )
    result.set(sub.id, toUsage(plans.get(sub.plan_id), own as Counter[]))
  }
  return result
}

/** Would `amount` more fit right now? (POST /usage/check: answers, reserves nothing.) */
export function wouldFit(usage: MetricUsage, amount: number): boolean {
  return usage.remaining === null || amount <= usage.remaining
}
