import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'

/**
 * Live subscriptions with their user's email, for the console's user list:
 * filtered by a fragment of the user id or email, newest first, at most `limit`.
 */
export async function listLiveSubscriptionsOfUsers(db: Db, query: { q?: string; limit: number }) {
  let select = db
    .selectFrom('billing_subscription as s')
    .leftJoin('gateway_user as u', 'u.id', 's.user_id')
    .selectAll('s')
    .select(['u.email', 'u.role'])
    .where('s.status', 'in', ['active', 'past_due'])
  if (query.q) {
    // LIKE is case-sensitive on PostgreSQL: compare lower-cased on both sides, the same everywhere.
    const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`
    // An explicit ESCAPE: SQLite has no default escape character, PostgreSQL's is the backslash.
    select = select.where(
      sql<boolean>`(lower(s.user_id) like ${pattern} escape '\\' or lower(u.email) like ${pattern} escape '\\')`,
    )
  }
  return select.orderBy('s.id', 'desc').limit(query.limit).execute()
}

/** Live (active or past due) subscriptions per plan: how many payers a plan edit reaches. */
export async function countLiveSubscriptionsByPlan(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('billing_subscription')
    .select(['plan_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['active', 'past_due'])
    .groupBy('plan_id')
    .execute()
  return new Map(rows.map((r) => [r.plan_id, Number(r.n)]))
}
