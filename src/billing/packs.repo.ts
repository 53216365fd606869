import type { Db, PackRow } from '../../db/tables.ts'
import type { PackSeed } from '../config/pack.schema.ts'

export async function findPack(db: Db, id: string): Promise<PackRow | undefined> {
  return db.selectFrom('billing_pack').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listPacks(db: Db, { activeOnly }: { activeOnly: boolean }) {
  let query = db.selectFrom('billing_pack').selectAll()
  if (activeOnly) query = query.where('is_active', '=', 1)
  return query.orderBy('display_order').orderBy('id').execute()
}

/** Inserts the pack or rewrites its columns (a pack bought keeps what it was sold as: its holding copies it). */
export async function upsertPack(db: Db, pack: PackSeed, now: number) {
  const columns = {
    name: pack.name,
    name_ru: pack.name_ru,
    metric: pack.metric,
    amount: pack.amount,
    price: pack.price,
    currency: pack.currency,
    validity_days: pack.validity_days,
    is_active: pack.is_active ? 1 : 0,
    display_order: pack.display_order,
    updated_at: now,
  }
  await db
    .insertInto('billing_pack')
    .values({ id: pack.id, ...columns, created_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet(columns))
    .execute()
}
