import type { Plan } from '../../billing/plan.ts'
import type { WebContext } from '../env.ts'
import { planName, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { AdminNav } from './admin-users.tsx'

/**
 * GET /admin/plans/:id/default: what making `plan` the default changes, in
 * words, and the one button that does it. The button carries the default the
 * operator saw, so a confirmation after another change of default is refused.
 */
export function renderDefaultConfirm(c: WebContext, input: { plan: Plan; current: Plan | string }) {
  const lang = c.get('lang')
  const plan = planName(lang, input.plan)
  const currentId = typeof input.current === 'string' ? input.current : input.current.id
  const current = typeof input.current === 'string' ? input.current : planName(lang, input.current)
  const unchanged = currentId === input.plan.id
  return renderPage(
    c,
    t(lang, 'default_confirm_title', { plan }),
    <>
      <AdminNav lang={lang} />
      <div class="notice pending" data-testid="default-effect">
        {unchanged ? (
          <p>{t(lang, 'default_unchanged', { plan })}</p>
        ) : (
          <>
            <p>{t(lang, 'default_effect', { plan, current })}</p>
            <p>{t(lang, 'default_effect_kept', { current })}</p>
          </>
        )}
      </div>
      <Form
        c={c}
        action={`/admin/plans/${encodeURIComponent(input.plan.id)}/default`}
        class="actions"
      >
        <input type="hidden" name="from" value={currentId} />
        {!unchanged && (
          <button type="submit" class="danger">
            {t(lang, 'default_confirm', { plan })}
          </button>
        )}
        <a class="button secondary" href="/admin/plans">
          {t(lang, 'cancel')}
        </a>
      </Form>
    </>,
  )
}
