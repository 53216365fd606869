import type { WebContext } from '../env.ts'
import { t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'

/** GET /signin: how to get in (and why the last attempt did not work). */
export function renderSignIn(c: WebContext, problem?: 'expired' | 'bad_link') {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'signin_title'),
    <>
      {problem && (
        <p class="notice error" role="alert">
          {t(lang, problem === 'expired' ? 'signin_expired' : 'signin_bad_link')}
        </p>
      )}
      <p>{t(lang, 'signin_how')}</p>
      <ul>
        <li>{t(lang, 'signin_how_app')}</li>
        <li>{t(lang, 'signin_how_link')}</li>
      </ul>
    </>,
    { status: problem === 'bad_link' ? 400 : 200 },
  )
}

/**
 * GET /signin/<token>: a button that posts to the same URL. Opening the link
 * spends nothing (link previewers and mail scanners open every link); the
 * page's POST does. No script submits it, for the same reason.
 */
export function renderSignInLink(c: WebContext, path: string) {
  const lang = c.get('lang')
  // renderPage's Referrer-Policy, same-origin, is the one that fits: the token in this URL goes
  // to no other site, and the button's POST still carries the Origin it is checked by (under
  // no-referrer a browser sends `Origin: null`).
  return renderPage(
    c,
    t(lang, 'signin_title'),
    <>
      <p>{t(lang, 'signin_link_lead')}</p>
      <form method="post" action={path}>
        <button type="submit">{t(lang, 'signin_link_button')}</button>
      </form>
    </>,
  )
}

/** GET / for a browser: what this is, and where to go. */
export function renderRoot(c: WebContext) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'gateway'),
    <>
      <p>{t(lang, 'root_lead')}</p>
      <ul>
        <li>
          <a href="/billing">/billing</a> — {t(lang, 'root_billing')}
        </li>
        <li>
          <a href="/admin">/admin</a> — {t(lang, 'root_admin')}
        </li>
        <li>
          <a href="/docs">/docs</a> — {t(lang, 'root_docs')}
        </li>
        <li>
          <a href="/healthz">/healthz</a> — {t(lang, 'root_health')}
        </li>
      </ul>
    </>,
  )
}
