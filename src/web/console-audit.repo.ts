import type { ConsoleAuditRow, Db } from '../../db/tables.ts'

/** An action of the console, as its page records it (JSON of before and after, never a secret). */
export interface AuditEntry {
  actorId: string
  action: string
  targetUserId: string | null
  subject: string | null
  before: unknown
  after: unknown
}

/**
 * Writes one audit row. Called inside the action's own transaction where the
 * action has one (grants, disabling), so the change and its record commit together.
 */
export async function insertAudit(db: Db, entry: AuditEntry & { id: string; now: number }) {
  await db
    .insertInto('console_audit')
    .values({
      id: entry.id,
      actor_id: entry.actorId,
      action: entry.action,
      target_user_id: entry.targetUserId,
      subject: entry.subject,
      before:
        entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
      after: entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
      created_at: entry.now,
    })
    .execute()
}

/** Newest first; of one user when `userId` is given, of one action when `action` is. */
export async function listAudit(
  db: Db,
  query: { userId?: string; action?: string; limit: number },
): Promise<ConsoleAuditRow[]> {
  let select = db.selectFrom('console_audit').selectAll()
  if (query.userId) select = select.where('target_user_id', '=', query.userId)
  if (query.action) select = select.where('action', '=', query.action)
  return select.orderBy('id', 'desc').limit(query.limit).execute()
}
