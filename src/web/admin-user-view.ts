import { listApiKeys } from '../auth/api-keys.service.ts'
import { findUser } from '../auth/users.repo.ts'
import type { Deps } from '../deps.ts'
import { readUserPacks } from '../ledger/packs/packs-view.ts'
import { recentRequests } from '../ledger/recent-requests.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { listAudit } from './console-audit.repo.ts'

const REQUEST_ROWS = 50
const AUDIT_ROWS = 20

/** The console's user page beyond subscriptions and usage: who they are, keys, requests, audit. */
export async function loadUserDetails(
  deps: Pick<Deps, 'clock' | 'config' | 'database'>,
  userId: string,
) {
  const db = deps.database.db
  const [user, keys, requests, audit, packs] = await Promise.all([
    findUser(db, userId),
    listApiKeys(deps, userId),
    recentRequests(db, userId, REQUEST_ROWS),
    listAudit(db, { userId, limit: AUDIT_ROWS }),
    readUserPacks(db, userId, nowSeconds(deps.clock)),
  ])
  return {
    user: user
      ? { ...user, disabled_at: user.disabled_at == null ? null : Number(user.disabled_at) }
      : null,
    keys,
    requests,
    audit,
    /** Prepaid packs held: balance, each pack's expiry, the latest entries. */
    packs,
    /** How long another replica may still accept a disabled user (the auth caches' bound). */
    cacheSeconds: Math.ceil(deps.config.auth.apiKeyCacheMs / 1000),
  }
}

export type UserDetails = Awaited<ReturnType<typeof loadUserDetails>>
