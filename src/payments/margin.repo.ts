import { type Kysely, sql } from 'kysely'
import type { DB, Metric } from '../../db/tables.ts'
import { usageMetricRows } from '../ledger/usage-metrics.sql.ts'
import { notRolledUp } from '../ledger/usage-rollup.repo.ts'

/** How the margin report groups: by the usage row's user, its subscription's plan, or its model. */
export type MarginGroup = 'user' | 'plan' | 'model'

export interface Period {
  /** Epoch seconds, inclusive. */
  from: number
  /** Epoch seconds, exclusive. */
  to: number
}

const DAY = 86_400

/**
 * A period as the usage history holds it: the whole UTC days inside it (read
 * from the daily rollup plus the raw rows not rolled up yet) and the parts of
 * days at its edges (read from raw rows, which must still be there).
 */
export function splitPeriod({ from, to }: Period): { days: Period | null; partial: Period[] } {
  const firstWhole = Math.ceil(from / DAY) * DAY
  const endWhole = Math.floor(to / DAY) * DAY
  if (firstWhole >= endWhole) return { days: null, partial: [{ from, to }] }
  const partial: Period[] = []
  if (from < firstWhole) partial.push({ from, to: firstWhole })
  if (endWhole < to) partial.push({ from: endWhole, to })
  return { days: { from: firstWhole, to: endWhole }, partial }
}

/**
 * Usage of a period per group and metric: the counted amount (weighted),
 * the raw tokens (rows without raw_amount, from before migration 0005 or a
 * sweeper's estimate, count 0) and the upstream cost in micro-units. The
 * plan is the one the row's subscription has now. Whole days come from the
 * daily rollup plus the raw rows it does not hold yet (a scan of the newest
 * ids only); parts of days from the raw rows (a scan, as before the rollup).
 */
export async function usageByGroup(db: Kysely<DB>, group: MarginGroup, period: Period) {
  const key =
    group === 'user'
      ? sql<string>`u.user_id`
      : group === 'plan'
        ? sql<string>`u.plan_id`
        : sql<string>`u.model_id`
  // Raw rows take their plan from their subscription, as the rollup did when it summed them.
  const raw = (where: ReturnType<typeof sql>) =>
    sql`SELECT r.user_id, s.plan_id, r.model_id, r.metric, r.amount, r.raw_amount, r.cost_micros
      FROM (${usageMetricRows(where)}) r LEFT JOIN billing_subscription s ON s.id = r.subscription_id`
  const { days, partial } = splitPeriod(period)
  const parts = partial.map((p) => raw(sql`u.created_at >= ${p.from} AND u.created_at < ${p.to}`))
  if (days) {
    parts.push(
      sql`SELECT user_id, NULLIF(plan_id, '') AS plan_id, NULLIF(model_id, '') AS model_id,
          metric, amount, raw_amount, cost_micros
        FROM billing_usage_daily WHERE day >= ${days.from} AND day < ${days.to}`,
      raw(
        sql`${notRolledUp('u.id')} AND u.created_at >= ${days.from} AND u.created_at < ${days.to}`,
      ),
    )
  }
  const { rows } = await sql<{
    key: string | null
    metric: Metric
    amount: number
    raw: number | null
    cost: number | null
  }>`
    SELECT ${key} AS "key", u.metric AS metric, SUM(u.amount) AS amount,
      SUM(u.raw_amount) AS raw, SUM(u.cost_micros) AS cost
    FROM (${sql.join(parts, sql` UNION ALL `)}) AS u
    GROUP BY ${key}, u.metric`.execute(db)
  return rows.map((row) => ({
    key: row.key ?? null,
    metric: row.metric,
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
