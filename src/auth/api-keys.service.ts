import { createHash } from 'node:crypto'
import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { insertApiKey, listLiveKeys, revokeKey } from './api-keys.repo.ts'

export const API_KEY_PREFIX = 'sk-'

/** Keys are 32 random bytes; only their SHA-256 is stored, so a database leak leaks no key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export async function createApiKey(deps: Deps, userId: string, name: string) {
  const key = `${API_KEY_PREFIX}${deps.ids.secret(32)}`
  const row = {
    id: deps.ids.next(),
    user_id: userId,
    name,
    key_hash: hashApiKey(key),
    key_prefix: key.slice(0, 10),
    created_at: nowSeconds(deps.clock),
  }
  await insertApiKey(deps.database.db, row)
  deps.logger.info({ userId, keyId: row.id }, 'API key created')
  return { id: row.id, name, key, created_at: row.created_at }
}

export async function listApiKeys(deps: Deps, userId: string) {
  const rows = await listLiveKeys(deps.database.db, userId)
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.key_prefix,
    created_at: r.created_at,
    last_used_at: r.last_used_at,
  }))
}

export async function revokeApiKey(deps: Deps, userId: string, keyId: string): Promise<boolean> {
  const revoked = await revokeKey(deps.database.db, userId, keyId, nowSeconds(deps.clock))
  if (revoked) {
    // The cache is keyed by hash, which the id does not give: forget every key (rare).
    deps.apiKeys.clear()
    deps.logger.info({ userId, keyId }, 'API key revoked')
  }
  return revoked
}
