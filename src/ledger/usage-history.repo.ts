import { sql } from 'kysely'
import type { Db, Metric } from '../../db/tables.ts'
import { usageMetricRows } from './usage-metrics.sql.ts'
import { dayOf, notRolledUp } from './usage-rollup.repo.ts'

const DAY = 86_400

/** The start of `seconds`' UTC day: the history is kept per whole day. */
export const startOfDay = (seconds: number) => Math.floor(seconds / DAY) * DAY

/**
 * A user's metered usage per UTC day and metric, from the day of `since` on
 * (the pages' 30-day chart): the daily rollup plus the raw rows it does not
 * hold yet, so a day whose raw rows were pruned still shows, exactly. The
 * index (user_id, created_at) bounds the raw scan, the rollup's key the other.
 */
export async function usageByDay(db: Db, userId: string, since: number) {
  const from = startOfDay(since)
  const { rows } = await sql<{ day: number; metric: Metric; amount: number }>`
    SELECT day, metric, SUM(amount) AS amount FROM (
      SELECT day, metric, amount FROM billing_usage_daily WHERE user_id = ${userId} AND day >= ${from}
      UNION ALL
      SELECT ${dayOf('created_at')} AS day, metric, amount FROM (${usageMetricRows(
        sql`u.user_id = ${userId} AND u.created_at >= ${from} AND ${notRolledUp('u.id')}`,
      )}) AS raw
    ) AS usage GROUP BY day, metric`.execute(db)
  return rows.map((r) => ({ day: Number(r.day), metric: r.metric, amount: Number(r.amount) }))
}

/** A user's usage per model and metric from the day of `since` on (the console's user page). */
export async function usageByModel(db: Db, userId: string, since: number) {
  const from = startOfDay(since)
  const { rows } = await sql<{ model: string | null; metric: Metric; amount: number }>`
    SELECT model, metric, SUM(amount) AS amount FROM (
      SELECT NULLIF(model_id, '') AS model, metric, amount FROM billing_usage_daily
      WHERE user_id = ${userId} AND day >= ${from}
      UNION ALL
      SELECT model_id AS model, metric, amount FROM (${usageMetricRows(
        sql`u.user_id = ${userId} AND u.created_at >= ${from} AND ${notRolledUp('u.id')}`,
      )}) AS raw
    ) AS usage GROUP BY model, metric`.execute(db)
  return rows.map((r) => ({
    model: r.model ?? '(unknown)',
    metric: r.metric,
    amount: Number(r.amount),
  }))
}

/**
 * When each of these users was last metered (the console's "last request"
 * column): the newest raw row, or the rollup's last_at once the rows are pruned.
 */
export async function lastUsageAt(db: Db, userIds: string[]) {
  if (userIds.length === 0) return new Map<string, number>()
  const raw = db
    .selectFrom('billing_usage')
    .select(['user_id', (eb) => eb.fn.max<number>('created_at').as('last')])
    .where('user_id', 'in', userIds)
    .groupBy('user_id')
  const rolled = db
    .selectFrom('billing_usage_daily')
    .select(['user_id', (eb) => eb.fn.max<number>('last_at').as('last')])
    .where('user_id', 'in', userIds)
    .groupBy('user_id')
  const rows = await db
    .selectFrom(raw.unionAll(rolled).as('seen'))
    .select(['seen.user_id', (eb) => eb.fn.max<number>('seen.last').as('last')])
    .groupBy('seen.user_id')
    .execute()
  return new Map(rows.map((r) => [r.user_id, Number(r.last)]))
}
