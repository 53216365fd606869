import type { Db } from '../../db/tables.ts'

/** The operator's run-time settings (gateway_setting): one text value per key. */
export type SettingKey = 'default_plan_id'

export async function readSetting(db: Db, key: SettingKey): Promise<string | undefined> {
  const row = await db
    .selectFrom('gateway_setting')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst()
  return row?.value
}

/** Seeds a setting; false when it is set already (replicas starting together write it once). */
export async function insertSettingIfAbsent(
  db: Db,
  key: SettingKey,
  value: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .insertInto('gateway_setting')
    .values({ key, value, updated_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

/**
 * Writes the row without changing it, inside a transaction: the row lock it
 * takes (PostgreSQL) or the write lock (SQLite) makes every other transaction
 * that holds it wait until this one ends, and the statements after it read
 * what those committed. The portable stand-in for SELECT ... FOR UPDATE.
 */
export async function holdSetting(trx: Db, key: SettingKey): Promise<void> {
  await trx
    .updateTable('gateway_setting')
    .set((eb) => ({ value: eb.ref('value') }))
    .where('key', '=', key)
    .execute()
}

export async function writeSetting(trx: Db, key: SettingKey, value: string, now: number) {
  await trx
    .updateTable('gateway_setting')
    .set({ value, updated_at: now })
    .where('key', '=', key)
    .execute()
}
