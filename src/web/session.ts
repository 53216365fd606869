import type { MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { API_KEY_PREFIX } from '../auth/api-keys.service.ts'
import type { Authenticator } from '../auth/authenticate.ts'
import { nowSeconds } from '../lib/clock.ts'
import { csrfTokenFor } from './csrf-token.ts'
import type { WebContext, WebEnv } from './env.ts'
import { renderForbidden } from './pages/errors.tsx'
import { findLiveSession } from './sessions.repo.ts'
import { hashSecret } from './sign-in.ts'

export const SESSION_COOKIE = 'gw_session'

/**
 * Finds who the browser is: a pages session (cookie from a sign-in link), else
 * the host application's JWT in the web.jwtCookie cookie, verified by the same
 * authenticator as the API's Bearer tokens. Nobody signed in is not an error
 * here: requireViewer() decides per route.
 */
export function loadSignIn(verify: Authenticator): MiddlewareHandler<WebEnv> {
  return async function loadSignIn(c, next) {
    const deps = c.get('deps')
    c.set('viewer', undefined)
    c.set('signInProblem', undefined)
    c.set('csrf', '')
    const session = getCookie(c, SESSION_COOKIE)
    if (session) {
      const row = await findLiveSession(
        deps.database.db,
        hashSecret(session),
        nowSeconds(deps.clock),
      )
      if (row) {
        // A disabled user's session stays, refused (an error page) until they are enabled.
        await deps.disabledUsers.refuseIfDisabled(row.user_id)
        c.set('viewer', {
          userId: row.user_id,
          email: row.email ?? null,
          role: row.role === 'admin' ? 'admin' : 'user',
          via: { kind: 'session' },
        })
        c.set('csrf', csrfTokenFor(session))
        return next()
      }
      c.set('signInProblem', 'expired')
      deleteCookie(c, SESSION_COOKIE, { path: '/' })
    }
    const jwt = getCookie(c, deps.config.web.jwtCookie)
    // Only a JWT is taken from the cookie: an API key is a Bearer credential, not a sign-in.
    if (jwt && !jwt.startsWith(API_KEY_PREFIX)) {
      try {
        c.set('viewer', await verify(jwt))
        c.set('csrf', csrfTokenFor(jwt))
        c.set('signInProblem', undefined)
      } catch {
        c.set('signInProblem', 'expired')
      }
    }
    return next()
  }
}

/** A page without a valid sign-in redirects to /signin, which explains how to get in. */
export function requireViewer(): MiddlewareHandler<WebEnv> {
  return async function requireViewer(c, next) {
    if (c.get('viewer')) return next()
    const query = c.get('signInProblem') === 'expired' ? '?expired=1' : ''
    return c.redirect(`/signin${query}`, 303)
  }
}

/** The console: an admin viewer, else a 403 page. */
export function requireAdminViewer(): MiddlewareHandler<WebEnv> {
  return async function requireAdminViewer(c, next) {
    if (c.get('viewer')?.role === 'admin') return next()
    return renderForbidden(c, 'admin')
  }
}

/**
 * The session cookie: HttpOnly, SameSite=Lax, path /, and Secure except on
 * plain http to a loopback host (a browser would drop a Secure cookie there).
 */
export function setSessionCookie(c: WebContext, value: string, maxAge: number) {
  setCookie(c, SESSION_COOKIE, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: !isLoopbackHttp(c),
    maxAge,
  })
}

export function clearSessionCookie(c: WebContext) {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: !isLoopbackHttp(c) })
}

function isLoopbackHttp(c: WebContext): boolean {
  const url = new URL(c.get('deps').config.server.publicUrl ?? c.req.url)
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
}
