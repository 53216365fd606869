import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { firstHeader, type HeaderReader } from '../lib/first-header.ts'
import { createTtlCache } from '../lib/ttl-cache.ts'
import type { AuthDeps } from './auth-deps.ts'
import type { Principal } from './principal.ts'
import { upsertEndUser } from './users.repo.ts'

/**
 * End user ids a service key may name: 1 to 128 characters of letters,
 * digits and `. _ - @ : | +`, starting with a letter or digit. That takes
 * Open WebUI's UUIDs, ObjectIds, emails and IdP subjects (`auth0|abc`), and
 * keeps control characters, spaces and path or SQL punctuation out of ids
 * that end up in logs, payment metadata and URLs.
 */
const END_USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@:|+-]{0,127}$/
/** RFC 5321's limit; anything else that is not one line with an @ is no email. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/
/** An end user seen within this window is not written again (one upsert per user per window). */
const REFRESH_MS = 5 * 60_000

export type ActingUsers = ReturnType<typeof createActingUsers>

/**
 * Trusted service keys (`acts_for_users`, created by an admin) act for the end
 * user the request names: the header of `auth.actAs.userHeaders`, else, when
 * `auth.actAs.bodyUserField` is on, a proxied body's `user`. The end user is
 * recorded on first sight (the entitlement puts them on the default plan) and
 * is never an admin through the key. A service key that names nobody is
 * refused: it is no one's credential of its own, and acting as its owner let a
 * key held by a front-end manage the owner's (an admin's) keys. Any other
 * caller's headers and `user` field change nothing: anyone can write them.
 */
export function createActingUsers(
  ctx: Pick<AuthDeps, 'config' | 'database' | 'clock' | 'disabledUsers'>,
) {
  const { userHeaders, emailHeaders, bodyUserField } = ctx.config.auth.actAs
  const seen = createTtlCache<true>(ctx.clock, 50_000)

  async function actFor(key: ServiceKey, userId: string, email: string | null) {
    // The end user a service key names is refused like one calling with their own key.
    await ctx.disabledUsers.refuseIfDisabled(userId)
    const memo = `${userId}\u0000${email ?? ''}`
    if (!seen.get(memo)) {
      await upsertEndUser(ctx.database.db, { id: userId, email, now: nowSeconds(ctx.clock) })
      seen.set(memo, true, ctx.clock.now() + REFRESH_MS)
    }
    const principal: Principal = {
      userId,
      email,
      role: 'user',
      via: { kind: 'acting', keyId: key.via.keyId, ownerId: key.userId },
    }
    return principal
  }

  return {
    /**
     * After authentication: the end user named by a header, or the principal
     * unchanged. A service key naming nobody is refused here, unless the route
     * reads a body that may still name the user (`bodyMayNameUser`, the proxy's
     * POSTs, with `auth.actAs.bodyUserField` on): fromBody decides there.
     */
    async fromHeaders(
      header: HeaderReader,
      principal: Principal,
      options: { bodyMayNameUser?: boolean } = {},
    ): Promise<Principal> {
      if (!isServiceKey(principal)) return principal
      const userId = firstHeader(header, userHeaders)
      if (userId === undefined) {
        if (options.bodyMayNameUser && bodyUserField) return principal
        throw noUserNamed()
      }
      const param = userHeaders.find((name) => header(name)) ?? userHeaders[0]!
      return actFor(principal, checkedUserId(userId, param), checkedEmail(header, emailHeaders))
    },

    /**
     * In the proxy, once the body is parsed and before anything is reserved: its
     * `user` when no header named anyone; a service key still naming nobody is refused.
     */
    async fromBody(
      principal: Principal,
      body: Readonly<Record<string, unknown>>,
    ): Promise<Principal> {
      if (!isServiceKey(principal)) return principal
      if (!bodyUserField || body.user === undefined) throw noUserNamed()
      if (typeof body.user !== 'string') {
        throw new DomainError('invalid_request', 'user must be a string', { param: 'user' })
      }
      return actFor(principal, checkedUserId(body.user, 'user'), null)
    },
  }

  function noUserNamed() {
    const header = userHeaders[0]!
    const where = bodyUserField
      ? `the ${header} header or, on a proxied request, the body's user`
      : `the ${header} header`
    return new DomainError(
      'permission_denied',
      `This service key (acts_for_users) acts only for an end user: name one in ${where}`,
      { param: header },
    )
  }
}

type ServiceKey = Principal & { via: { kind: 'api_key'; keyId: string; actsForUsers: true } }

export function isServiceKey(principal: Principal): principal is ServiceKey {
  return principal.via.kind === 'api_key' && principal.via.actsForUsers
}

function checkedUserId(value: string, param: string): string {
  if (!END_USER_ID.test(value)) {
    throw new DomainError(
      'invalid_request',
      `${param} must be 1 to 128 letters, digits or . _ - @ : | + (starting with a letter or digit)`,
      { param },
    )
  }
  return value
}

function checkedEmail(header: HeaderReader, names: readonly string[]): string | null {
  const email = firstHeader(header, names)
  if (email === undefined) return null
  if (!EMAIL.test(email)) {
    const param = names.find((name) => header(name)) ?? names[0]!
    throw new DomainError('invalid_request', `${param} is not an email address`, { param })
  }
  return email
}
