import type { Plan } from '../../billing/plan.ts'
import type { WebContext } from '../env.ts'
import { formatDate, planName, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'

/** The new key, shown once, with a copy button and a warning (POST /billing/keys answers this). */
export function renderKeyCreated(c: WebContext, created: { name: string; key: string }) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'key_created_title'),
    <>
      <p class="notice pending" role="alert">
        {t(lang, 'key_created_warning')}
      </p>
      <p>
        {t(lang, 'col_name')}: <strong>{created.name}</strong>
      </p>
      <div class="secret">
        <code id="new-key">{created.key}</code>
        <button type="button" data-copy="new-key" data-copied={t(lang, 'copied')}>
          {t(lang, 'copy')}
        </button>
      </div>
      <p>
        <a href="/billing#keys-h">{t(lang, 'back_to_billing')}</a>
      </p>
    </>,
  )
}

/** GET /billing/cancel?when=end|now: what will happen, and one button that does it. */
export function renderCancelConfirm(
  c: WebContext,
  input: { immediate: boolean; plan: Plan; endsAt: number },
) {
  const lang = c.get('lang')
  const vars = { plan: planName(lang, input.plan), date: formatDate(lang, input.endsAt) }
  return renderPage(
    c,
    t(lang, 'cancel_title'),
    <>
      <p>{t(lang, input.immediate ? 'cancel_confirm_now' : 'cancel_confirm_end', vars)}</p>
      <Form c={c} action="/billing/cancel" class="actions">
        <input type="hidden" name="when" value={input.immediate ? 'now' : 'end'} />
        <button type="submit" class="danger">
          {t(lang, 'cancel_confirm_button')}
        </button>
        <a class="button secondary" href="/billing">
          {t(lang, 'cancel_keep')}
        </a>
      </Form>
    </>,
  )
}
