import type { Kysely, Transaction } from 'kysely'
import type { DB, NewPlanRow, PlanRow, PlanUpdate } from '../../db/tables.ts'

type Db = Kysely<DB> | Transaction<DB>

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

export async function insertPlan(db: Db, row: NewPlanRow): Promise<void> {
  await db.insertInto('billing_plan').values(row).execute()
}

export async function updatePlan(db: Db, id: string, changes: PlanUpdate): Promise<boolean> {
  const result = await db
    .updateTable('billing_plan')
    .set(changes)
    .where('id', '=', id)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function deletePlan(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('billing_plan').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}
