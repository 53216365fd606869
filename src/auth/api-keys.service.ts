import { createHash } from 'node:crypto'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { insertApiKey, listLiveKeys, revokeKey } from './api-keys.repo.ts'
import type { AuthDeps } from './auth-deps.ts'
import type { Principal } from './principal.ts'

export const API_KEY_PREFIX = 'sk-'

const DAY_SECONDS = 86_400

/** Keys are 32 random bytes; only their SHA-256 is stored, so a database leak leaks no key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export interface NewKeyInput {
  name: string
  /** An admin credential: only an admin may ask, and only this way does a key act as admin. */
  admin?: boolean
  /** A trusted service key that may name the end user it acts for (never an admin). */
  actsForUsers?: boolean
  /** Epoch seconds, or days from now: after it the key is refused (401). */
  expiresAt?: number
  expiresInDays?: number
}

/**
 * A key is its owner acting as a plain user unless created with a flag, and
 * the flags are an admin's to give: an admin's everyday key must not be a
 * permanent admin credential that outlives a role change or a leaked laptop.
 */
export async function createApiKey(
  deps: Pick<AuthDeps, 'clock' | 'database' | 'ids' | 'logger'>,
  principal: Principal,
  input: NewKeyInput,
) {
  const now = nowSeconds(deps.clock)
  const flagged = input.admin ? 'admin' : input.actsForUsers ? 'acts_for_users' : null
  if (flagged && principal.role !== 'admin') {
    throw new DomainError('permission_denied', `Only an administrator may create ${flagged} keys`, {
      param: flagged,
    })
  }
  if (input.admin && input.actsForUsers) {
    throw new DomainError('invalid_request', 'A key acting for users can never be an admin key', {
      param: 'acts_for_users',
    })
  }
  const expiresAt = keyExpiry(input, now)
  const key = `${API_KEY_PREFIX}${deps.ids.secret(32)}`
  const row = {
    id: deps.ids.next(),
    user_id: principal.userId,
    name: input.name,
    key_hash: hashApiKey(key),
    key_prefix: key.slice(0, 10),
    created_at: now,
    is_admin: input.admin ? 1 : 0,
    acts_for_users: input.actsForUsers ? 1 : 0,
    expires_at: expiresAt,
  }
  await insertApiKey(deps.database.db, row)
  deps.logger.info(
    {
      userId: principal.userId,
      keyId: row.id,
      admin: !!input.admin,
      actsForUsers: !!input.actsForUsers,
      expiresAt,
    },
    'API key created',
  )
  return { id: row.id, name: input.name, key, created_at: now, ...flags(row) }
}

function keyExpiry(input: NewKeyInput, now: number): number | null {
  if (input.expiresAt !== undefined && input.expiresInDays !== undefined) {
    throw new DomainError('invalid_request', 'Give expires_at or expires_in_days, not both', {
      param: 'expires_at',
    })
  }
  if (input.expiresInDays !== undefined) return now + input.expiresInDays * DAY_SECONDS
  if (input.expiresAt === undefined) return null
  if (input.expiresAt <= now) {
    throw new DomainError('invalid_request', 'expires_at must be in the future', {
      param: 'expires_at',
    })
  }
  return input.expiresAt
}

function flags(row: { is_admin: number; acts_for_users: number; expires_at: number | null }) {
  return {
    admin: row.is_admin === 1,
    acts_for_users: row.acts_for_users === 1,
    expires_at: row.expires_at,
  }
}

export async function listApiKeys(deps: Pick<AuthDeps, 'database'>, userId: string) {
  const rows = await listLiveKeys(deps.database.db, userId)
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.key_prefix,
    created_at: r.created_at,
    last_used_at: r.last_used_at,
    ...flags({ ...r, is_admin: Number(r.is_admin), acts_for_users: Number(r.acts_for_users) }),
  }))
}

export async function revokeApiKey(
  deps: Pick<AuthDeps, 'apiKeys' | 'clock' | 'database' | 'logger'>,
  userId: string,
  keyId: string,
): Promise<boolean> {
  const revoked = await revokeKey(deps.database.db, userId, keyId, nowSeconds(deps.clock))
  if (revoked) {
    // The cache is keyed by hash, which the id does not give: forget every key (rare).
    deps.apiKeys.clear()
    deps.logger.info({ userId, keyId }, 'API key revoked')
  }
  return revoked
}
