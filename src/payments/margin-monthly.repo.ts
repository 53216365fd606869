import { type Kysely, sql } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { notRolledUp } from '../ledger/usage-rollup.repo.ts'
import { type MarginGroup, type Period, splitPeriod } from './margin.repo.ts'

const DAY = 86_400
/** A usage row's upstream cost (one row per settle, billing_usage r): its input and output prices. */
const rowCost = sql`(COALESCE(r.cost_input_micros, 0) + COALESCE(r.cost_output_micros, 0))`

/**
 * The upstream cost of each UTC day of a period of whole days, in micro-units
 * of the price currency: the daily rollup plus the raw rows it does not hold
 * yet, so each day's cost can be converted at that day's rate.
 */
export async function costByDay(db: Kysely<DB>, period: Period) {
  const { rows } = await sql<{ day: number | string; cost: number | string | null }>`
    SELECT u.day AS day, SUM(u.cost_micros) AS cost FROM (
      SELECT day, cost_micros FROM billing_usage_daily WHERE day >= ${period.from} AND day < ${period.to}
      UNION ALL
      SELECT r.created_at - (r.created_at % ${DAY}) AS day, ${rowCost} AS cost_micros FROM billing_usage r
        WHERE ${notRolledUp('r.id')} AND r.created_at >= ${period.from} AND r.created_at < ${period.to}
    ) AS u GROUP BY u.day`.execute(db)
  return rows.map((row) => ({ day: Number(row.day), cost: Number(row.cost ?? 0) }))
}

/**
 * Each payment, renewal and refund of a period that counts as earned, as the
 * margin report counts them (margin.repo.ts, earnedByGroup): succeeded (or
 * refunded later) payments and renewals positive, succeeded refunds negative,
 * each with its own date and currency, in minor units.
 */
export async function earnedPayments(db: Kysely<DB>, period: Period) {
  const rows = await db
    .selectFrom('billing_transaction as t')
    .select(['t.kind', 't.amount', 't.currency', 't.created_at'])
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
    .execute()
  return rows.map((row) => ({
    at: Number(row.created_at),
    currency: row.currency,
    minor: row.kind === 'refund' ? -Number(row.amount) : Number(row.amount),
  }))
}

/**
 * The upstream cost per group key and UTC day of any period (the margin
 * report's grouping, margin.repo.ts), so each key's cost converts at each
 * day's rate: whole days from the rollup plus the raw rows it does not hold
 * yet, parts of days from the raw rows.
 */
export async function costByGroupAndDay(db: Kysely<DB>, group: MarginGroup, period: Period) {
  const key =
    group === 'user'
      ? sql<string>`u.user_id`
      : group === 'plan'
        ? sql<string>`u.plan_id`
        : sql<string>`u.model_id`
  const raw = (where: ReturnType<typeof sql>) =>
    sql`SELECT r.user_id, s.plan_id, r.model_id, r.created_at - (r.created_at % ${DAY}) AS day, ${rowCost} AS cost_micros
      FROM billing_usage r LEFT JOIN billing_subscription s ON s.id = r.subscription_id
      WHERE ${where}`
  const { days, partial } = splitPeriod(period)
  const parts = partial.map((p) => raw(sql`r.created_at >= ${p.from} AND r.created_at < ${p.to}`))
  if (days) {
    parts.push(
      sql`SELECT user_id, NULLIF(plan_id, '') AS plan_id, NULLIF(model_id, '') AS model_id, day, cost_micros
        FROM billing_usage_daily WHERE day >= ${days.from} AND day < ${days.to}`,
      raw(
        sql`${notRolledUp('r.id')} AND r.created_at >= ${days.from} AND r.created_at < ${days.to}`,
      ),
    )
  }
  const { rows } = await sql<{
    key: string | null
    day: number | string
    cost: number | string | null
  }>`
    SELECT ${key} AS "key", u.day AS day, SUM(u.cost_micros) AS cost
    FROM (${sql.join(parts, sql` UNION ALL `)}) AS u
    GROUP BY ${key}, u.day`.execute(db)
  return rows.map((row) => ({
    key: row.key ?? null,
    day: Number(row.day),
    cost: Number(row.cost ?? 0),
  }))
}
