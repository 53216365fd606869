import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { AppEnv } from '../env.ts'
import { GatewayError } from '../errors.ts'
import { requestHeader } from '../request-headers.ts'

/**
 * Requires `Authorization: Bearer <JWT or sk-key>` and sets the principal; under
 * the paths `xApiKeyUnder` starts (Anthropic's surface) an `x-api-key` header is taken first.
 * `bodyMayNameUser`: the proxy's surface, whose POST bodies may name the end
 * user of a service key (pipeline/proxy.ts asks actingUsers.fromBody once parsed).
 */
export function authenticate(
  verify: Authenticator,
  options: { bodyMayNameUser?: boolean; xApiKeyUnder?: readonly string[] } = {},
): MiddlewareHandler<AppEnv> {
  const xApiKeyUnder = options.xApiKeyUnder ?? []
  return async function authenticate(c, next) {
    // Anthropic's clients send the key as x-api-key (Claude Code's ANTHROPIC_API_KEY, SDK 0.x),
    // or as a bearer token (ANTHROPIC_AUTH_TOKEN, SDK 1.x): on that surface either is the key.
    const apiKey = xApiKeyUnder.some((prefix) => c.req.path.startsWith(prefix))
      ? requestHeader(c, 'x-api-key')
      : undefined
    const principal = await verify(apiKey || bearerToken(requestHeader(c, 'authorization')))
    // A trusted service key becomes the end user its request names, or is refused (docs/open-webui.md).
    const bodyMayNameUser = options.bodyMayNameUser === true && c.req.method === 'POST'
    c.set(
      'principal',
      await c
        .get('deps')
        .actingUsers.fromHeaders((name) => requestHeader(c, name), principal, { bodyMayNameUser }),
    )
    await next()
  }
}

/** The token of `Authorization: Bearer <token>`, or 401. */
export function bearerToken(header: string | undefined): string {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  if (!match) {
    throw new GatewayError(
      'missing_credentials',
      'Missing bearer token in the Authorization header',
    )
  }
  return match[1]!
}

/** 403 unless the caller is an admin. Goes after authenticate(). */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    if (c.get('principal').role !== 'admin') {
      throw new GatewayError('permission_denied', 'This route is for administrators')
    }
    await next()
  }
}
