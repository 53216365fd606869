import { raw } from 'hono/html'
import type { WebContext } from '../env.ts'
import { t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import { AdminNav } from './admin-users.tsx'

/** The key an operator made for a user, shown once with a copy button. */
export function renderAdminKeyCreated(
  c: WebContext,
  created: { userId: string; name: string; key: string },
) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'key_created_title'),
    <>
      <AdminNav lang={lang} />
      <p class="notice pending" role="alert">
        {t(lang, 'notice_key_created_admin')}
      </p>
      <p>
        {t(lang, 'col_name')}: <strong>{created.name}</strong> · {t(lang, 'col_user')}:{' '}
        <strong>{created.userId}</strong>
      </p>
      <div class="secret">
        <code id="new-key">{created.key}</code>
        <button type="button" data-copy="new-key" data-copied={t(lang, 'copied')}>
          {t(lang, 'copy')}
        </button>
      </div>
      <p>
        <a href={`/admin/users/${encodeURIComponent(created.userId)}#keys-h`}>
          {t(lang, 'back_to_console')}
        </a>
      </p>
    </>,
  )
}

const FORM = /<form\b[^>]*>[\s\S]*?<\/form>/g
/** Links into the payer's own actions (/billing/cancel...): they would act on the operator's account. */
const ACTION_LINK = /<a\b[^>]*href="\/billing\/[^"]*"[^>]*>[\s\S]*?<\/a>/g

/**
 * "View billing as this user": the payer's page rendered from their data, with
 * every form and action link taken out. The page's forms post to /billing,
 * which acts for whoever is signed in (the operator), so a read-only view must
 * not carry them. Taking them out of the rendered page, rather than teaching
 * the payer's page a read-only mode, keeps the payer's page one piece of code
 * and this view unable to gain a button by accident. The page keeps its
 * headers (CSP, no-store); a banner says whose page it is.
 */
export async function readOnlyBilling(c: WebContext, page: Response, who: string) {
  const lang = c.get('lang')
  const full = await page.text()
  // Only the page's body: the header keeps the operator's own Sign out.
  const at = full.indexOf('<main id="main">')
  const html = full.slice(0, at) + full.slice(at).replace(FORM, '').replace(ACTION_LINK, '')
  const banner = await (
    <>
      <AdminNav lang={lang} />
      <p class="notice pending" role="status" data-testid="read-only">
        {t(lang, 'billing_as_banner', { user: who })}
      </p>
    </>
  ).toString()
  const body = html.replace(/(<main id="main">\s*<h1>[\s\S]*?<\/h1>)/, (m) => `${m}${raw(banner)}`)
  return c.html(body, 200)
}
