import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { AppEnv } from '../env.ts'
import { GatewayError } from '../errors.ts'
import { bearerToken } from './authenticate.ts'

/**
 * /metrics tells who uses which model how much, and the process's internals:
 * it needs `Authorization: Bearer <METRICS_TOKEN>` (for a Prometheus scraper)
 * or an admin's credential. No or a bad token: 401; a user who is no admin: 403.
 */
export function metricsAccess(verify: Authenticator): MiddlewareHandler<AppEnv> {
  return async function metricsAccess(c, next) {
    const token = bearerToken(c.req.header('authorization'))
    const expected = c.get('deps').secrets.metricsToken
    if (expected && sameSecret(token, expected)) return next()
    const principal = await verify(token)
    if (principal.role !== 'admin') {
      throw new GatewayError(
        'permission_denied',
        '/metrics is for administrators and METRICS_TOKEN',
      )
    }
    await next()
  }
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
