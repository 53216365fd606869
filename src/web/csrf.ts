import { timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { CSRF_FIELD } from './csrf-token.ts'
import type { WebContext, WebEnv } from './env.ts'
import { renderForbidden } from './pages/errors.tsx'

/**
 * Every POST of the pages: the Origin must be this gateway's (browsers send it on
 * every form post; a missing one is refused too), and the form must carry this
 * viewer's token. Either failure is a 403 page and changes nothing.
 */
export function requireSameSiteForm(): MiddlewareHandler<WebEnv> {
  return async function requireSameSiteForm(c, next) {
    if (c.req.method !== 'POST') return next()
    if (!isOwnOrigin(c)) return renderForbidden(c, 'csrf')
    const body = await c.req.parseBody()
    const sent = body[CSRF_FIELD]
    if (typeof sent !== 'string' || !c.get('viewer') || !sameText(sent, c.get('csrf'))) {
      return renderForbidden(c, 'csrf')
    }
    await next()
  }
}

/**
 * A POST whose Origin is this gateway's, for a form no session stands behind
 * yet (a sign-in link's button): a page of another site cannot post it, so it
 * cannot sign a browser in as someone else. No token: the only secret there is
 * the link's own, which the poster holds anyway.
 */
export function requireOwnOrigin(): MiddlewareHandler<WebEnv> {
  return async function requireOwnOrigin(c, next) {
    if (c.req.method === 'POST' && !isOwnOrigin(c)) return renderForbidden(c, 'csrf')
    await next()
  }
}

/** Origin equals the configured public URL's, or names the host this request was sent to. */
function isOwnOrigin(c: WebContext): boolean {
  const origin = c.req.header('origin')
  if (!origin || origin === 'null') return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  const publicUrl = c.get('deps').config.server.publicUrl
  if (publicUrl && new URL(publicUrl).origin === url.origin) return true
  const host = c.req.header('host')
  return host !== undefined && url.host === host.toLowerCase()
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
