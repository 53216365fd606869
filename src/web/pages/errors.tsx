import type { WebContext } from '../env.ts'
import { t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'

/** 403 as a page: the console for a non-admin, or a form that failed the CSRF check. */
export function renderForbidden(c: WebContext, why: 'admin' | 'csrf') {
  const lang = c.get('lang')
  const text = t(lang, why === 'admin' ? 'forbidden_admin' : 'forbidden_csrf')
  return renderPage(
    c,
    t(lang, 'forbidden_title'),
    <>
      <p>{text}</p>
      <p>
        <a href="/billing">{t(lang, 'back_to_billing')}</a>
      </p>
    </>,
    { status: 403 },
  )
}

/** A page for errors of the pages: the message of a refused action, or "try again" for an outage. */
export function renderError(
  c: WebContext,
  message: string,
  status: 400 | 404 | 409 | 500 | 502 | 503,
) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'error_title'),
    <>
      <p class="notice error" role="alert">
        {message}
      </p>
      <p>
        <a href="/billing">{t(lang, 'back_to_billing')}</a>
      </p>
    </>,
    { status },
  )
}
