import type { Db } from '../../db/tables.ts'

/** The pages' sign-in rows. Callers pass SHA-256 hashes only; the secrets never reach the database. */
export async function insertSignInLink(
  db: Db,
  row: { token_hash: string; user_id: string; created_at: number; expires_at: number },
) {
  await db
    .insertInto('web_sign_in_link')
    .values({ ...row, used_at: null })
    .execute()
}

/** Whether the link could still sign in (unused, unexpired), without spending it. */
export async function findUsableSignInLink(db: Db, tokenHash: string, now: number) {
  const row = await db
    .selectFrom('web_sign_in_link')
    .select('user_id')
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst()
  return row?.user_id
}

/**
 * Marks the link used if it is unused and unexpired, in one conditional UPDATE: two
 * clicks racing (or two replicas) cannot both win. Returns the user it signs in, or undefined.
 */
export async function consumeSignInLink(db: Db, tokenHash: string, now: number) {
  const row = await db
    .updateTable('web_sign_in_link')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst()
  return row?.user_id
}

export async function insertSession(
  db: Db,
  row: { token_hash: string; user_id: string; created_at: number; expires_at: number },
) {
  await db.insertInto('web_session').values(row).execute()
}

/** The live session with this hash, with what the user table says about its user. */
export async function findLiveSession(db: Db, tokenHash: string, now: number) {
  return db
    .selectFrom('web_session as s')
    .leftJoin('gateway_user as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.expires_at', 'u.role', 'u.email'])
    .where('s.token_hash', '=', tokenHash)
    .where('s.expires_at', '>', now)
    .executeTakeFirst()
}

export async function deleteSession(db: Db, tokenHash: string) {
  await db.deleteFrom('web_session').where('token_hash', '=', tokenHash).execute()
}

/** Housekeeping on each sign-in: expired sessions and links (used or not) are of no further use. */
export async function deleteExpiredSignIns(db: Db, now: number) {
  await db.deleteFrom('web_session').where('expires_at', '<=', now).execute()
  await db.deleteFrom('web_sign_in_link').where('expires_at', '<=', now).execute()
}
