import { sql } from 'kysely'
import type { Db, SubscriptionRow, SubscriptionStatus } from '../../db/tables.ts'

const LIVE: SubscriptionStatus[] = ['active', 'past_due']

/** The user's live (active or past_due) subscription; a unique index allows at most one. */
export async function findLiveSubscription(db: Db, userId: string) {
  return db
    .selectFrom('billing_subscription')
    .selectAll()
    .where('user_id', '=', userId)
    .where('status', 'in', LIVE)
    .executeTakeFirst()
}

export async function findSubscription(db: Db, id: string) {
  return db.selectFrom('billing_subscription').selectAll().where('id', '=', id).executeTakeFirst()
}

/**
 * Inserts a live subscription unless the user already has one (another request
 * or replica won the race). Returns whether this call inserted it.
 */
export async function insertLiveSubscription(db: Db, row: SubscriptionRow): Promise<boolean> {
  const result = await db
    .insertInto('billing_subscription')
    .values(row)
    // The conflict target must repeat the partial index's predicate as literal SQL: SQLite
    // (and PostgreSQL's arbiter inference) cannot prove it from bound parameters.
    .onConflict((oc) =>
      oc.column('user_id').where(sql<boolean>`status in ('active', 'past_due')`).doNothing(),
    )
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

/** The user's most recent subscription to `planId`, whatever its status (index on user_id, created_at). */
export async function findLatestSubscriptionToPlan(db: Db, userId: string, planId: string) {
  return db
    .selectFrom('billing_subscription')
    .selectAll()
    .where('user_id', '=', userId)
    .where('plan_id', '=', planId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/**
 * Makes an ended subscription live again, only if it is unchanged since the
 * caller read it and the user has no live one (the partial unique index would
 * refuse a second). Returns whether this call did it. Outside a transaction, a
 * live row committed between the check and the write (PostgreSQL) counts as
 * "someone else won" too; inside one, the error stays the caller's to handle.
 */
export async function reviveSubscriptionIf(
  db: Db,
  expected: Pick<SubscriptionRow, 'id' | 'version' | 'user_id'>,
  changes: Partial<Omit<SubscriptionRow, 'id' | 'user_id' | 'created_at' | 'version'>>,
): Promise<boolean> {
  try {
    const result = await db
      .updateTable('billing_subscription')
      .set({ ...changes, status: 'active', version: expected.version + 1 })
      .where('id', '=', expected.id)
      .where('version', '=', expected.version)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('billing_subscription as live')
              .select('live.id')
              .where('live.user_id', '=', expected.user_id)
              .where('live.status', 'in', LIVE),
          ),
        ),
      )
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  } catch (error) {
    if (!db.isTransaction && isUniqueViolation(error)) return false
    throw error
  }
}

/** PostgreSQL 23505 or SQLite's UNIQUE constraint failure. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE'
}

/**
 * Updates a subscription only if nobody changed it since the caller read it
 * (same version): the optimistic guard that makes rollover, cancel and payment
 * application safe across replicas without row locks (SQLite has none).
 */
export async function updateSubscriptionIf(
  db: Db,
  expected: Pick<SubscriptionRow, 'id' | 'version'>,
  changes: Partial<Omit<SubscriptionRow, 'id' | 'user_id' | 'created_at' | 'version'>>,
): Promise<boolean> {
  const result = await db
    .updateTable('billing_subscription')
    .set({ ...changes, version: expected.version + 1 })
    .where('id', '=', expected.id)
    .where('version', '=', expected.version)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function listSubscriptions(
  db: Db,
  { userId, limit, before }: { userId?: string; limit: number; before?: string },
) {
  let query = db.selectFrom('billing_subscription').selectAll()
  if (userId) query = query.where('user_id', '=', userId)
  if (before) query = query.where('id', '<', before)
  return query.orderBy('id', 'desc').limit(limit).execute()
}

/** Users whose live subscription's period has ended (the rollover job's batch; index on status, end). */
export async function listUsersDueForRollover(db: Db, now: number, limit: number) {
  const rows = await db
    .selectFrom('billing_subscription')
    .select('user_id')
    .where('status', 'in', LIVE)
    .where('current_period_end', '<=', now)
    .orderBy('current_period_end')
    .limit(limit)
    .execute()
  return rows.map((r) => r.user_id)
}
