import type { Kysely } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { ApiKeyRow, DB, Db } from '../../db/tables.ts'

export async function insertApiKey(db: Db, row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>) {
  await db
    .insertInto('gateway_api_key')
    .values({ ...row, last_used_at: null, revoked_at: null })
    .execute()
}

/** The unrevoked key with this hash, with its owner's role (expiry is the caller's check). */
export async function findLiveKeyByHash(db: Db, keyHash: string) {
  const { rows } = await findLiveKeyQuery(db, keyHash)
  return rows[0]
}

// On the hot path of every call made with an API key (when not cached): compiled once.
const findLiveKeyQuery = prepared((db: Kysely<DB>, keyHash: string) =>
  db
    .selectFrom('gateway_api_key as k')
    .leftJoin('gateway_user as u', 'u.id', 'k.user_id')
    .select([
      'k.id',
      'k.user_id',
      'k.last_used_at',
      'k.is_admin',
      'k.acts_for_users',
      'k.expires_at',
      'u.role',
      'u.email',
    ])
    .where('k.key_hash', '=', keyHash)
    .where('k.revoked_at', 'is', null),
)

export type LiveKey = NonNullable<Awaited<ReturnType<typeof findLiveKeyByHash>>>

export async function listLiveKeys(db: Db, userId: string) {
  return db
    .selectFrom('gateway_api_key')
    .select([
      'id',
      'name',
      'key_prefix',
      'created_at',
      'last_used_at',
      'is_admin',
      'acts_for_users',
      'expires_at',
    ])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
}

/** Revokes the key if it is the user's and still live; true when it was. */
export async function revokeKey(db: Db, userId: string, keyId: string, now: number) {
  const result = await db
    .updateTable('gateway_api_key')
    .set({ revoked_at: now })
    .where('id', '=', keyId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function touchKey(db: Db, keyId: string, now: number) {
  await db
    .updateTable('gateway_api_key')
    .set({ last_used_at: now })
    .where('id', '=', keyId)
    .execute()
}
