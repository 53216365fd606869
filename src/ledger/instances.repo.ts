import type { Db } from '../../db/tables.ts'

/** Writes this process's heartbeat (the first one creates its row). */
export async function beat(db: Db, id: string, now: number): Promise<void> {
  await db
    .insertInto('gateway_instance')
    .values({ id, started_at: now, heartbeat_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
    .execute()
}

/** A clean stop: the process is dead at once, whatever it still owns is swept without waiting. */
export async function retire(db: Db, id: string): Promise<void> {
  await db.deleteFrom('gateway_instance').where('id', '=', id).execute()
}

/** Forgets processes silent since `before` (an owner missing from the table counts as dead). */
export async function forgetSilentInstances(db: Db, before: number): Promise<void> {
  await db.deleteFrom('gateway_instance').where('heartbeat_at', '<', before).execute()
}

/** Records the address this process listens on, or (null) that it gave it up. */
export async function setInstanceName(db: Db, id: string, name: string | null): Promise<void> {
  await db.updateTable('gateway_instance').set({ name }).where('id', '=', id).execute()
}

/** The other processes that last held `name`: dead, since `self` holds it now. */
export async function findPredecessors(db: Db, name: string, self: string): Promise<string[]> {
  const rows = await db
    .selectFrom('gateway_instance')
    .select('id')
    .where('name', '=', name)
    .where('id', '<>', self)
    .execute()
  return rows.map((row) => row.id)
}
