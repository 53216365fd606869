import type { Db } from '../../../db/tables.ts'

/** The owners of those of `ids` the gateway has bound (one indexed read of the primary key). */
export async function ownersOf(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('stored_object')
    .select(['id', 'user_id'])
    .where('id', 'in', ids)
    .execute()
  return new Map(rows.map((row) => [row.id, row.user_id]))
}

/**
 * Binds ids to the user they were made for. The first binding wins and is
 * never changed: an answer that echoes another user's id (in metadata, say)
 * cannot take it over.
 */
export async function bindStoredObjects(
  db: Db,
  userId: string,
  ids: readonly string[],
  now: number,
): Promise<void> {
  await db
    .insertInto('stored_object')
    .values(ids.map((id) => ({ id, user_id: userId, created_at: now })))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

/** Deletes up to `limit` bindings made before `cutoff` (epoch seconds); returns how many. */
export async function deleteStoredObjectsBefore(
  db: Db,
  cutoff: number,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom('stored_object')
    .where(
      'id',
      'in',
      db.selectFrom('stored_object').select('id').where('created_at', '<', cutoff).limit(limit),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
