import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { createTtlCache } from '../lib/ttl-cache.ts'
import { findLiveKeyByHash, touchKey } from './api-keys.repo.ts'
import { API_KEY_PREFIX, hashApiKey } from './api-keys.service.ts'
import type { AuthDeps } from './auth-deps.ts'
import type { Principal } from './principal.ts'
import { upsertUser } from './users.repo.ts'

/** Algorithms are pinned: HS256 for the shared secret, asymmetric ones for a JWKS (never `none`). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']
/** A user seen within this window is not written again (one upsert per user per process and window). */
const USER_REFRESH_MS = 5 * 60_000
/** How long a verified JWT is trusted without verifying it again (never past its exp). */
const VERIFIED_TOKEN_TTL_MS = 60_000
/** last_used_at of an API key is written at most this often. */
const KEY_TOUCH_SECONDS = 60

export type Authenticator = (token: string) => Promise<Principal>

/** A token without exp whose iat lies further ahead than this is refused (clock skew allowance). */
const IAT_SKEW_MS = 60_000

/**
 * A JWT without `exp` (Open WebUI with JWT_EXPIRES_IN=-1) would otherwise be
 * valid forever: it is accepted until `iat + maxAgeSeconds`, and refused when
 * it has no `iat` or the setting is null/0. Returns the deadline in ms.
 */
function noExpDeadline(payload: JWTPayload, maxAgeSeconds: number | null, nowMs: number) {
  if (!maxAgeSeconds) {
    throw new DomainError('invalid_api_key', 'Token has no exp (auth.maxTokenAgeSeconds is 0)')
  }
  if (typeof payload.iat !== 'number') {
    throw new DomainError('invalid_api_key', 'Token has neither exp nor iat')
  }
  const deadline = (payload.iat + maxAgeSeconds) * 1000
  if (nowMs >= deadline || payload.iat * 1000 > nowMs + IAT_SKEW_MS) {
    throw new DomainError('invalid_api_key', 'Token without exp is too old')
  }
  return deadline
}

/**
 * Turns a bearer token into a Principal: a gateway API key (sk-...) or a JWT
 * verified with jose (HS256 from JWT_SECRET, or a JWKS with issuer and audience).
 */
export function createAuthenticator(
  deps: Pick<AuthDeps, 'apiKeys' | 'clock' | 'config' | 'database' | 'disabledUsers' | 'secrets'>,
): Authenticator {
  const { config, secrets, clock } = deps
  const jwks: JWTVerifyGetKey | null = config.auth.jwksUrl
    ? createRemoteJWKSet(new URL(config.auth.jwksUrl))
    : null
  // A WebCrypto key imported once: given bytes or a KeyObject, jose imports the key again on
  // every verification (a large share of a proxied request's CPU).
  const hmacKey = secrets.jwtSecret
    ? crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(secrets.jwtSecret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      )
    : null
  const seenUsers = new Map<string, number>()
  // A token verified once is valid until its exp: the same string is not verified again for a
  // while. Keyed by the whole token, so a changed byte is a miss and is verified in full.
  const verified = createTtlCache<Principal>(clock, 10_000)

  async function verifyJwt(token: string): Promise<Principal> {
    const cached = verified.get(token)
    if (cached) return cached
    const { principal, trustedUntil } = await verifyJwtFully(token)
    verified.set(token, principal, trustedUntil)
    return principal
  }

  async function verifyJwtFully(token: string) {
    const options = {
      currentDate: new Date(clock.now()),
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    }
    let payload: JWTPayload
    try {
      if (jwks)
        ({ payload } = await jwtVerify(token, jwks, { ...options, algorithms: JWKS_ALGORITHMS }))
      else if (hmacKey)
        ({ payload } = await jwtVerify(token, await hmacKey, { ...options, algorithms: ['HS256'] }))
      else throw new Error('no JWT verification configured')
    } catch (error) {
      throw new DomainError('invalid_api_key', 'Invalid or expired token', { cause: error })
    }
    const expiresAt =
      typeof payload.exp === 'number'
        ? payload.exp * 1000
        : noExpDeadline(payload, config.auth.maxTokenAgeSeconds, clock.now())
    const trustedUntil = Math.min(expiresAt, clock.now() + VERIFIED_TOKEN_TTL_MS)
    // Open WebUI tokens carry the user id as `id`; standard ones as `sub`.
    const userId = typeof payload.sub === 'string' ? payload.sub : payload.id
    if (typeof userId !== 'string' || userId === '') {
      throw new DomainError('invalid_api_key', 'Token names no user (sub or id)')
    }
    const principal: Principal = {
      userId,
      email: typeof payload.email === 'string' ? payload.email : null,
      role: payload.role === 'admin' ? 'admin' : 'user',
      via: { kind: 'jwt' },
    }
    await rememberUser(principal)
    return { principal, trustedUntil }
  }

  async function rememberUser(principal: Principal) {
    const key = `${principal.userId}\u0000${principal.role}\u0000${principal.email}`
    const seen = seenUsers.get(key)
    if (seen !== undefined && clock.now() - seen < USER_REFRESH_MS) return
    await upsertUser(deps.database.db, {
      ...principal,
      id: principal.userId,
      now: nowSeconds(clock),
    })
    if (seenUsers.size > 50_000) seenUsers.clear()
    seenUsers.set(key, clock.now())
  }

  async function verifyApiKey(token: string): Promise<Principal> {
    const key = await findLiveKey(hashApiKey(token))
    if (!key) throw new DomainError('invalid_api_key', 'Invalid API key')
    const now = nowSeconds(clock)
    // Checked on every use, cached or not: a cached key expires on time.
    if (key.expires_at !== null && now >= key.expires_at) {
      throw new DomainError('invalid_api_key', 'API key expired')
    }
    if (key.last_used_at === null || now - key.last_used_at >= KEY_TOUCH_SECONDS) {
      await touchKey(deps.database.db, key.id, now)
      key.last_used_at = now
    }
    const actsForUsers = key.acts_for_users === 1
    // Admin only when created as an admin key and its owner is still an admin; a key acting
    // for users never is, whoever owns it.
    const admin = key.is_admin === 1 && key.role === 'admin' && !actsForUsers
    return {
      userId: key.user_id,
      email: key.email ?? null,
      role: admin ? 'admin' : 'user',
      via: { kind: 'api_key', keyId: key.id, actsForUsers },
    }
  }

  /**
   * A live key is trusted for auth.apiKeyCacheMs without a lookup. Revoking a
   * key clears this process's cache at once (revokeApiKey); another replica
   * may accept it until its entry expires (5 s by default). Unknown keys are
   * not cached: a key created elsewhere works at once.
   */
  async function findLiveKey(keyHash: string) {
    const cached = deps.apiKeys.get(keyHash)
    if (cached) return cached
    const key = await findLiveKeyByHash(deps.database.db, keyHash)
    const ttlMs = config.auth.apiKeyCacheMs
    if (key && ttlMs > 0) deps.apiKeys.set(keyHash, key, clock.now() + ttlMs)
    return key
  }

  return async (token) => {
    const principal = await (token.startsWith(API_KEY_PREFIX)
      ? verifyApiKey(token)
      : verifyJwt(token))
    // After the caches above: a verified token or a cached key of a disabled user is refused too.
    await deps.disabledUsers.refuseIfDisabled(principal.userId)
    return principal
  }
}
