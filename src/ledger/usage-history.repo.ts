import { type Kysely, sql, type Transaction } from 'kysely'
import type { DB, Metric } from '../../db/tables.ts'

type Db = Kysely<DB> | Transaction<DB>

const DAY = 86_400

/**
 * A user's metered usage per UTC day and metric since `since` (the pages' 30-day
 * chart). Integer division of integer epoch seconds is the day number on both
 * SQLite and PostgreSQL; the index (user_id, created_at) bounds the scan.
 */
export async function usageByDay(db: Db, userId: string, since: number) {
  const rows = await db
    .selectFrom('billing_usage')
    .select((eb) => [
      // A literal, not a parameter: better-sqlite3 binds JS numbers as REAL (real division).
      sql<number>`created_at / ${sql.lit(DAY)}`.as('day'),
      'metric',
      eb.fn.sum<number>('amount').as('amount'),
    ])
    .where('user_id', '=', userId)
    .where('created_at', '>=', since)
    .groupBy(['day', 'metric'])
    .execute()
  return rows.map((r) => ({
    day: Number(r.day) * DAY,
    metric: r.metric as Metric,
    amount: Number(r.amount),
  }))
}

/** A user's usage per model and metric since `since` (the console's user page). */
export async function usageByModel(db: Db, userId: string, since: number) {
  const rows = await db
    .selectFrom('billing_usage')
    .select(['model_id', 'metric', (eb) => eb.fn.sum<number>('amount').as('amount')])
    .where('user_id', '=', userId)
    .where('created_at', '>=', since)
    .groupBy(['model_id', 'metric'])
    .execute()
  return rows.map((r) => ({
    model: r.model_id ?? '(unknown)',
    metric: r.metric as Metric,
    amount: Number(r.amount),
  }))
}

/** When each of these users was last metered (the console's "last request" column). */
export async function lastUsageAt(db: Db, userIds: string[]) {
  if (userIds.length === 0) return new Map<string, number>()
  const rows = await db
    .selectFrom('billing_usage')
    .select(['user_id', (eb) => eb.fn.max<number>('created_at').as('last')])
    .where('user_id', 'in', userIds)
    .groupBy('user_id')
    .execute()
  return new Map(rows.map((r) => [r.user_id, Number(r.last)]))
}
