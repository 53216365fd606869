import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { PAGE_CSP as CSP } from '../http/page-csp.ts'
import { CSRF_FIELD } from './csrf-token.ts'
import type { WebContext } from './env.ts'
import { type Lang, t } from './i18n.ts'

/** A POST form with this viewer's CSRF token. */
export function Form(props: {
  c: WebContext
  action: string
  children: Child
  class?: string
  label?: string
}) {
  return (
    <form method="post" action={props.action} class={props.class} aria-label={props.label}>
      <input type="hidden" name={CSRF_FIELD} value={props.c.get('csrf')} />
      {props.children}
    </form>
  )
}

function Page(props: { c: WebContext; title: string; children: Child; head?: Child }) {
  const { c } = props
  const lang = c.get('lang')
  const viewer = c.get('viewer')
  const other: Lang = lang === 'ru' ? 'en' : 'ru'
  const here = c.req.path
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${t(lang, 'gateway')}`}</title>
        {/* No favicon request (a 404 in every page's console): an empty data: icon. */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/gateway.css" />
        <script src="/assets/gateway.js" defer />
        {props.head}
      </head>
      <body>
        <a class="skip" href="#main">
          {t(lang, 'skip_to_content')}
        </a>
        <header class="top">
          <a class="brand" href="/">
            {t(lang, 'gateway')}
          </a>
          <nav aria-label="main">
            {viewer && <a href="/billing">{t(lang, 'nav_billing')}</a>}
            {viewer?.role === 'admin' && <a href="/admin">{t(lang, 'nav_admin')}</a>}
            <a
              href={`/lang/${other}?next=${encodeURIComponent(here)}`}
              lang={other}
              hreflang={other}
            >
              {t(lang, 'switch_lang')}
            </a>
            {viewer && (
              <>
                <span class="muted">
                  {t(lang, 'signed_in_as', { user: viewer.email ?? viewer.userId })}
                </span>
                {viewer.via.kind === 'session' && (
                  <Form c={c} action="/signout">
                    <button type="submit" class="link">
                      {t(lang, 'sign_out')}
                    </button>
                  </Form>
                )}
              </>
            )}
          </nav>
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  )
}

/** Renders a whole page with the pages' security headers; never cached (it is personal). */
export async function renderPage(
  c: WebContext,
  title: string,
  body: Child,
  options: { status?: ContentfulStatusCode; head?: Child } = {},
) {
  c.header('content-security-policy', CSP)
  c.header('x-content-type-options', 'nosniff')
  c.header('referrer-policy', 'same-origin')
  c.header('cache-control', 'no-store')
  const html = await (
    <Page c={c} title={title} head={options.head}>
      {body}
    </Page>
  ).toString()
  return c.html(`<!DOCTYPE html>${html}`, options.status ?? 200)
}
