import { type Kysely, sql } from 'kysely'
import type { DB, Metric } from '../../db/tables.ts'

/** How the margin report groups: by the usage row's user, its subscription's plan, or its model. */
export type MarginGroup = 'user' | 'plan' | 'model'

export interface Period {
  /** Epoch seconds, inclusive. */
  from: number
  /** Epoch seconds, exclusive. */
  to: number
}

/**
 * Usage of a period per group and metric: the counted amount (weighted),
 * the raw tokens (rows without raw_amount, from before migration 0005 or a
 * sweeper's estimate, count 0) and the upstream cost in micro-units. The
 * plan is the one the row's subscription has now.
 */
export async function usageByGroup(db: Kysely<DB>, group: MarginGroup, period: Period) {
  const key =
    group === 'user'
      ? sql<string>`u.user_id`
      : group === 'plan'
        ? sql<string>`s.plan_id`
        : sql<string>`u.model_id`
  const rows = await db
    .selectFrom('billing_usage as u')
    .leftJoin('billing_subscription as s', 's.id', 'u.subscription_id')
    .select((eb) => [
      key.as('key'),
      'u.metric',
      eb.fn.sum<number>('u.amount').as('amount'),
      eb.fn.sum<number | null>('u.raw_amount').as('raw'),
      eb.fn.sum<number | null>('u.cost_micros').as('cost'),
    ])
    .where('u.created_at', '>=', period.from)
    .where('u.created_at', '<', period.to)
    .groupBy([key, 'u.metric'])
    .execute()
  return rows.map((row) => ({
    key: row.key ?? null,
    metric: row.metric as Metric,
    amount: Number(row.amount),
    raw: Number(row.raw ?? 0),
    cost: Number(row.cost ?? 0),
  }))
}

/**
 * What users paid in a period, per user or plan and currency, in minor units:
 * payments and renewals that succeeded (a refunded one succeeded first), minus
 * refunds that succeeded, each by its own created_at. By model: nothing (a
 * plan's price is not split between the models it grants).
 */
export async function earnedByGroup(db: Kysely<DB>, group: 'user' | 'plan', period: Period) {
  const key = group === 'user' ? sql<string>`t.user_id` : sql<string>`t.plan_id`
  const rows = await db
    .selectFrom('billing_transaction as t')
    .select((eb) => [
      key.as('key'),
      't.currency',
      eb.fn
        .sum<number>(sql`CASE WHEN t.kind = 'refund' THEN -t.amount ELSE t.amount END`)
        .as('earned'),
    ])
    .where('t.created_at', '>=', period.from)
    .where('t.created_at', '<', period.to)
    .where((eb) =>
      eb.or([
        eb.and([
          eb('t.kind', 'in', ['payment', 'renewal']),
          eb('t.status', 'in', ['succeeded', 'refunded']),
        ]),
        eb.and([eb('t.kind', '=', 'refund'), eb('t.status', '=', 'succeeded')]),
      ]),
    )
    .groupBy([key, 't.currency'])
    .execute()
  return rows.map((row) => ({
    key: row.key ?? null,
    currency: row.currency,
    earned: Number(row.earned),
  }))
}
