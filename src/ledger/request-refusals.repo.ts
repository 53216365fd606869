import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'

/** A request refused at admission, as the console lists it (db/tables.ts RequestRefusalTable). */
export interface RefusalRecord {
  id: string
  userId: string
  requestId: string | null
  model: string | null
  status: number
  code: string
  message: string
  createdAt: number
}

export async function insertRefusal(db: Db, r: RefusalRecord): Promise<void> {
  await db
    .insertInto('request_refusal')
    .values({
      id: r.id,
      user_id: r.userId,
      request_id: r.requestId,
      model_id: r.model,
      status: r.status,
      code: r.code,
      message: r.message,
      created_at: r.createdAt,
    })
    .execute()
}

/** A user's last refusals, newest first (the index (user_id, created_at) reads just those). */
export async function recentRefusals(db: Db, userId: string, limit: number) {
  const rows = await db
    .selectFrom('request_refusal')
    .select(['request_id', 'model_id', 'status', 'code', 'message', 'created_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    requestId: r.request_id,
    at: Number(r.created_at),
    model: r.model_id,
    status: Number(r.status),
    code: r.code,
    message: r.message,
  }))
}

/** Deletes up to `limit` refusals older than `cutoff` (epoch seconds); returns how many. */
export async function pruneRefusals(db: Db, cutoff: number, limit: number): Promise<number> {
  const result = await sql`
    DELETE FROM request_refusal WHERE id IN (
      SELECT id FROM request_refusal WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${limit})`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}
