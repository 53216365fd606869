import { sql } from 'kysely'
import type { Db, NewPlanRow, PlanRow, PlanUpdate } from '../../db/tables.ts'

export async function findPlan(db: Db, id: string): Promise<PlanRow | undefined> {
  return db.selectFrom('billing_plan').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listPlans(
  db: Db,
  { activeOnly }: { activeOnly: boolean },
): Promise<PlanRow[]> {
  let query = db.selectFrom('billing_plan').selectAll()
  if (activeOnly) query = query.where('is_active', '=', 1)
  return query.orderBy('display_order').orderBy('id').execute()
}

/** Inserts unless the id is taken; false on a duplicate (no read-then-write race). */
export async function insertPlanIfAbsent(db: Db, row: NewPlanRow): Promise<boolean> {
  const result = await db
    .insertInto('billing_plan')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

export async function updatePlan(db: Db, id: string, changes: PlanUpdate): Promise<boolean> {
  const result = await db
    .updateTable('billing_plan')
    .set(changes)
    .where('id', '=', id)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Deletes the plan only if nothing depends on it: no live subscription and no
 * payment still in flight for it (its webhook must still find the plan). One
 * statement, so a subscription started concurrently cannot slip between a
 * check and the delete.
 */
export async function deletePlanIfUnused(db: Db, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('billing_plan')
    .where('id', '=', id)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('billing_subscription')
            .select(sql<number>`1`.as('one'))
            .where('plan_id', '=', id)
            .where('status', 'in', ['active', 'past_due']),
        ),
      ),
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('billing_transaction')
            .select(sql<number>`1`.as('one'))
            .where('plan_id', '=', id)
            .where('status', 'in', ['pending', 'waiting_for_capture']),
        ),
      ),
    )
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}
