import { readFileSync } from 'node:fs'
import { Hono, type MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import type { Authenticator } from '../auth/authenticate.ts'
import { findUser } from '../auth/users.repo.ts'
import { asGatewayError } from '../http/errors.ts'
import { notFound } from '../http/on-error.ts'
import { createAdminPages } from './admin.routes.tsx'
import { createBillingPages, pageStatus } from './billing.routes.tsx'
import { requireOwnOrigin, requireSameSiteForm } from './csrf.ts'
import type { WebEnv } from './env.ts'
import { LANG_COOKIE, pickLang, t } from './i18n.ts'
import { renderError } from './pages/errors.tsx'
import { renderRoot, renderSignIn, renderSignInLink } from './pages/sign-in.tsx'
import { sameOriginPath } from './same-origin-path.ts'
import {
  clearSessionCookie,
  loadSignIn,
  requireAdminViewer,
  requireViewer,
  SESSION_COOKIE,
  setSessionCookie,
} from './session.ts'
import { endSession, exchangeSignInLink, isUsableSignInLink } from './sign-in.ts'

const ASSET_TYPES = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' }

/**
 * The pages: GET / for browsers, sign-in, /billing (payers), /admin (admins)
 * and their two assets. Middleware is registered per path, never on `*`, so
 * the API's routes (/v1, /api) never pay for cookies or sessions.
 */
export function createWebRoutes(verify: Authenticator) {
  const assets = {
    css: readFileSync(new URL('./assets/gateway.css', import.meta.url), 'utf8'),
    js: readFileSync(new URL('./assets/gateway.js', import.meta.url), 'utf8'),
  }
  const language: MiddlewareHandler<WebEnv> = async function language(c, next) {
    c.set('lang', pickLang(getCookie(c, LANG_COOKIE), c.req.header('accept-language')))
    await next()
  }
  const session = loadSignIn(verify)
  const web = new Hono<WebEnv>()

  for (const ext of ['css', 'js'] as const) {
    web.get(`/assets/gateway.${ext}`, (c) =>
      c.body(assets[ext], 200, {
        'content-type': ASSET_TYPES[ext],
        'cache-control': 'public, max-age=3600',
        'x-content-type-options': 'nosniff',
      }),
    )
  }

  // A browser asking for the root gets a page; an API client keeps the JSON 404.
  web.get('/', language, session, (c) => {
    if (!(c.req.header('accept') ?? '').includes('text/html')) return notFound(c as never)
    return renderRoot(c)
  })

  web.get('/lang/:lang{en|ru}', (c) => {
    setCookie(c, LANG_COOKIE, c.req.param('lang'), {
      path: '/',
      sameSite: 'Lax',
      maxAge: 365 * 86_400,
    })
    return c.redirect(sameOriginPath(c.req.query('next'), '/'), 303)
  })

  web.get('/signin', language, session, (c) => {
    if (c.get('viewer') && c.req.query('expired') === undefined) return c.redirect('/billing', 303)
    return renderSignIn(c, c.req.query('expired') !== undefined ? 'expired' : undefined)
  })
  // Opening a link (GET, HEAD) shows a button and spends nothing; its POST signs in.
  web.get('/signin/:token', language, async (c) => {
    if (!(await isUsableSignInLink(c.get('deps'), c.req.param('token')))) {
      return renderSignIn(c, 'bad_link')
    }
    return renderSignInLink(c, c.req.path)
  })
  web.post('/signin/:token', language, requireOwnOrigin(), async (c) => {
    const deps = c.get('deps')
    // The token leaves the URL at once: no Referer carries it, the next URL is clean.
    c.header('referrer-policy', 'no-referrer')
    const session = await exchangeSignInLink(deps, c.req.param('token'))
    if (!session) return renderSignIn(c, 'bad_link')
    setSessionCookie(c, session.cookie, session.maxAge)
    const user = await findUser(deps.database.db, session.userId)
    return c.redirect(user?.role === 'admin' ? '/admin' : '/billing', 303)
  })
  web.post('/signout', language, session, requireViewer(), requireSameSiteForm(), async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE)
    if (cookie) await endSession(c.get('deps'), cookie)
    clearSessionCookie(c)
    return c.redirect('/signin', 303)
  })

  for (const path of ['/billing', '/billing/*']) {
    web.use(path, language, session, requireViewer(), requireSameSiteForm())
  }
  for (const path of ['/admin', '/admin/*']) {
    web.use(path, language, session, requireViewer(), requireAdminViewer(), requireSameSiteForm())
  }
  web.route('/billing', createBillingPages())
  web.route('/admin', createAdminPages())

  // Errors of the pages are pages: a refused action shows its message, an outage says so.
  web.onError((thrown, c) => {
    if (!c.get('lang')) c.set('lang', 'en')
    const error = asGatewayError(thrown)
    if (error) {
      if (c.req.path.endsWith('/status')) return c.json(error.toBody(), error.status)
      return renderError(c, error.message, pageStatus(error))
    }
    c.get('deps').logger.error({ err: thrown, requestId: c.get('requestId') }, 'page failed')
    return renderError(c, t(c.get('lang'), 'error_unavailable'), 503)
  })
  return web
}
