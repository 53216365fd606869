import { type Kysely, sql, type Transaction } from 'kysely'
import type { DB, Db } from '../../db/tables.ts'
import { usageMetricRows } from './usage-metrics.sql.ts'

const DAY = 86_400
/** The UTC day of created_at, as epoch seconds; literals, since better-sqlite3 binds numbers as REAL. */
export const dayOf = (column: string) =>
  sql<number>`(${sql.ref(column)} / ${sql.lit(DAY)}) * ${sql.lit(DAY)}`

/**
 * The billing_usage rows the rollup does not hold yet. A subquery, so a read
 * and the cursor it is exact against come from one statement's snapshot.
 */
export const notRolledUp = (idColumn = 'id') =>
  sql<boolean>`${sql.ref(idColumn)} > (SELECT rolled_through FROM billing_usage_rollup WHERE name = 'usage')`

interface RollupState {
  rolled_through: string
  pruned_through: string
  prune_day: number
  complete_since: number
}

/**
 * Locks the rollup's state row for the transaction (PostgreSQL row lock; SQLite's
 * transactions take the write lock when they begin), so two replicas running the
 * job take turns instead of rolling up the same rows twice.
 */
async function lockState(trx: Transaction<DB>, now: number): Promise<RollupState> {
  const { rows } = await sql<RollupState>`
    UPDATE billing_usage_rollup SET updated_at = ${now} WHERE name = 'usage'
    RETURNING rolled_through, pruned_through, prune_day, complete_since`.execute(trx)
  const state = rows[0]
  if (!state) throw new Error('billing_usage_rollup has no usage row: is migration 0006 applied?')
  return {
    ...state,
    prune_day: Number(state.prune_day),
    complete_since: Number(state.complete_since),
  }
}

/**
 * Rolls the next `limit` rows (in id order) with ids below `idBound` into
 * billing_usage_daily and moves the cursor past them, in one transaction.
 * Returns how many rows it rolled up (0: nothing left below the bound).
 */
export async function rollUpBatch(
  db: Kysely<DB>,
  { idBound, limit, now }: { idBound: string; limit: number; now: number },
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rolled_through: cursor } = await lockState(trx, now)
    const ids = await trx
      .selectFrom('billing_usage')
      .select('id')
      .where('id', '>', cursor)
      .where('id', '<', idBound)
      .orderBy('id')
      .limit(limit)
      .execute()
    const last = ids.at(-1)?.id
    if (!last) return 0
    await sql`
      INSERT INTO billing_usage_daily
        (user_id, day, plan_id, model_id, metric, amount, raw_amount, cost_micros, last_at)
      SELECT u.user_id, ${dayOf('u.created_at')}, COALESCE(s.plan_id, ''), COALESCE(u.model_id, ''),
        u.metric, SUM(u.amount), SUM(COALESCE(u.raw_amount, 0)), SUM(COALESCE(u.cost_micros, 0)),
        MAX(u.created_at)
      FROM (${usageMetricRows(sql`u.id > ${cursor} AND u.id <= ${last}`)}) u
        LEFT JOIN billing_subscription s ON s.id = u.subscription_id
      GROUP BY u.user_id, ${dayOf('u.created_at')}, COALESCE(s.plan_id, ''), COALESCE(u.model_id, ''), u.metric
      ON CONFLICT (user_id, day, plan_id, model_id, metric) DO UPDATE SET
        amount = billing_usage_daily.amount + excluded.amount,
        raw_amount = billing_usage_daily.raw_amount + excluded.raw_amount,
        cost_micros = billing_usage_daily.cost_micros + excluded.cost_micros,
        last_at = CASE WHEN excluded.last_at > billing_usage_daily.last_at
          THEN excluded.last_at ELSE billing_usage_daily.last_at END`.execute(trx)
    await trx
      .updateTable('billing_usage_rollup')
      .set({ rolled_through: last })
      .where('name', '=', 'usage')
      .execute()
    return ids.length
  })
}

export interface PruneBatch {
  /** Rows looked at (the scan's step; < limit: today's scan is done). */
  scanned: number
  deleted: number
}

/**
 * One step of the day's prune scan: the next `limit` rolled-up rows (id order)
 * whose ids are below `idBound`, of which those created before `cutoff` are
 * deleted unless they back something still open:
 * - the current period of a live subscription (its counters equal the sum of its rows);
 * - a user with a refund still pending (a payment in dispute: its usage stays reviewable).
 * The scan resumes where it stopped and starts over each UTC day (`today`), so
 * rows kept for those reasons are looked at again once a day.
 */
export async function pruneBatch(
  db: Kysely<DB>,
  input: { idBound: string; cutoff: number; today: number; limit: number; now: number },
): Promise<PruneBatch> {
  return db.transaction().execute(async (trx) => {
    const state = await lockState(trx, input.now)
    const from = state.prune_day === input.today ? state.pruned_through : ''
    // The lower of two ids (text): never past what the rollup holds.
    const bound = [input.idBound, state.rolled_through].sort()[0]!
    const ids = await trx
      .selectFrom('billing_usage')
      .select('id')
      .where('id', '>', from)
      .where('id', '<=', bound)
      .orderBy('id')
      .limit(input.limit)
      .execute()
    const last = ids.at(-1)?.id ?? from
    let deleted = 0
    if (ids.length > 0) {
      const result = await sql`
        DELETE FROM billing_usage
        WHERE id > ${from} AND id <= ${last} AND created_at < ${input.cutoff}
          AND NOT EXISTS (
            SELECT 1 FROM billing_subscription s
            WHERE s.id = billing_usage.subscription_id AND s.status IN ('active', 'past_due')
              AND billing_usage.created_at >= s.current_period_start)
          AND NOT EXISTS (
            SELECT 1 FROM billing_transaction t
            WHERE t.user_id = billing_usage.user_id AND t.kind = 'refund'
              AND t.status IN ('pending', 'waiting_for_capture'))`.execute(trx)
      deleted = Number(result.numAffectedRows ?? 0)
    }
    await trx
      .updateTable('billing_usage_rollup')
      .set({
        pruned_through: last,
        prune_day: input.today,
        complete_since: Math.max(state.complete_since, input.cutoff),
      })
      .where('name', '=', 'usage')
      .execute()
    return { scanned: ids.length, deleted }
  })
}

/** Raw rows created at or after this were never pruned (reads of partial days need them). */
export async function completeSince(db: Db): Promise<number> {
  const row = await db
    .selectFrom('billing_usage_rollup')
    .select('complete_since')
    .where('name', '=', 'usage')
    .executeTakeFirst()
  return Number(row?.complete_since ?? 0)
}
