import { createHash } from 'node:crypto'
import { findUser, upsertUser } from '../auth/users.repo.ts'
import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import {
  consumeSignInLink,
  deleteExpiredSignIns,
  deleteSession,
  findUsableSignInLink,
  insertSession,
  insertSignInLink,
} from './sessions.repo.ts'

type SignInDeps = Pick<Deps, 'config' | 'database' | 'clock' | 'ids' | 'logger'>

/** Links and session cookies carry 32 random bytes; only their SHA-256 is stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export interface SignInLink {
  /** The URL to open in a browser: base URL + /signin/<token>. */
  url: string
  userId: string
  /** Epoch seconds after which the link no longer works. */
  expiresAt: number
}

export interface MintOptions {
  /** Where the gateway is reached; default server.publicUrl, else http://localhost:<port>. */
  baseUrl?: string
  /** Records the user with this role (admin opens the console); absent: the user as known. */
  role?: 'admin' | 'user'
  email?: string | null
}

/**
 * A one-time sign-in link for `userId` (the CLI's `gateway link`, the demo). Single
 * use, valid web.signInLinkTtlSeconds; the user is recorded if new, so the
 * session finds a role (user unless `role` says otherwise).
 */
export async function mintSignInLink(
  deps: SignInDeps,
  userId: string,
  options: MintOptions = {},
): Promise<SignInLink> {
  const { db } = deps.database
  const now = nowSeconds(deps.clock)
  const known = await findUser(db, userId)
  if (!known || options.role !== undefined || options.email !== undefined) {
    await upsertUser(db, {
      id: userId,
      email: options.email !== undefined ? options.email : (known?.email ?? null),
      role: options.role ?? known?.role ?? 'user',
      now,
    })
  }
  const token = deps.ids.secret(32)
  const expiresAt = now + deps.config.web.signInLinkTtlSeconds
  await insertSignInLink(db, {
    token_hash: hashSecret(token),
    user_id: userId,
    created_at: now,
    expires_at: expiresAt,
  })
  deps.logger.info({ userId, expiresAt }, 'WEB sign-in link minted')
  const base = (
    options.baseUrl ??
    deps.config.server.publicUrl ??
    `http://localhost:${deps.config.server.port}`
  ).replace(/\/+$/, '')
  return { url: `${base}/signin/${token}`, userId, expiresAt }
}

/**
 * Whether a link's token could still sign in, read only: opening a link (GET,
 * HEAD: link previewers, mail scanners) never spends it; only its page's POST does.
 */
export async function isUsableSignInLink(deps: SignInDeps, token: string): Promise<boolean> {
  const { db } = deps.database
  return (await findUsableSignInLink(db, hashSecret(token), nowSeconds(deps.clock))) !== undefined
}

/**
 * Exchanges a link's token for a new session: the link is spent first (one
 * conditional UPDATE), then the session row is written. Returns the session's
 * cookie value, or null when the link is unknown, used or expired.
 */
export async function exchangeSignInLink(
  deps: SignInDeps,
  token: string,
): Promise<{ cookie: string; maxAge: number; userId: string } | null> {
  const { db } = deps.database
  const now = nowSeconds(deps.clock)
  const userId = await consumeSignInLink(db, hashSecret(token), now)
  if (!userId) return null
  await deleteExpiredSignIns(db, now)
  const cookie = deps.ids.secret(32)
  const maxAge = deps.config.web.sessionTtlSeconds
  await insertSession(db, {
    token_hash: hashSecret(cookie),
    user_id: userId,
    created_at: now,
    expires_at: now + maxAge,
  })
  deps.logger.info({ userId }, 'WEB signed in by link')
  return { cookie, maxAge, userId }
}

export async function endSession(deps: SignInDeps, cookie: string) {
  await deleteSession(deps.database.db, hashSecret(cookie))
}
