import type { GrantPreview } from '../../billing/grant-preview.ts'
import type { Plan } from '../../billing/plan.ts'
import type { WebContext } from '../env.ts'
import { formatDate, type Lang, planName, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { AdminNav } from './admin-users.tsx'

/**
 * GET /admin/users/:id/grant: what the grant will change, said in words
 * ("Pro paid until Feb 7 ends; usage resets"), and the one button that does
 * it. The button carries the state looked at, so a grant confirmed after the
 * subscription changed is refused instead of applied to something else.
 */
export function renderGrantConfirm(
  c: WebContext,
  input: { userId: string; preview: GrantPreview; plans: Plan[] },
) {
  const lang = c.get('lang')
  const { preview, userId } = input
  const back = `/admin/users/${encodeURIComponent(userId)}`
  return renderPage(
    c,
    t(lang, 'grant_confirm_title'),
    <>
      <AdminNav lang={lang} />
      <p class="notice pending" data-testid="grant-effect">
        {grantEffect(lang, preview, input.plans)}
      </p>
      <Form c={c} action={`${back}/grant`} class="actions">
        <input type="hidden" name="plan_id" value={preview.plan.id} />
        <input type="hidden" name="periods" value={String(preview.periods)} />
        <input type="hidden" name="expect" value={preview.state} />
        <button type="submit" class={preview.kind === 'extend' ? undefined : 'danger'}>
          {t(lang, 'grant_confirm', { plan: planName(lang, preview.plan) })}
        </button>
        <a class="button secondary" href={back}>
          {t(lang, 'cancel')}
        </a>
      </Form>
    </>,
  )
}

/** The sentence naming what changes (also recorded nowhere else: the audit keeps the rows). */
export function grantEffect(lang: Lang, preview: GrantPreview, plans: Plan[]): string {
  const name = (id: string) => {
    const plan = plans.find((p) => p.id === id)
    return plan ? planName(lang, plan) : id
  }
  const plan = planName(lang, preview.plan)
  const current = preview.current
  const paid = current?.paidUntil ?? null
  switch (preview.kind) {
    case 'unchanged':
      return t(lang, 'grant_unchanged', { plan })
    case 'extend':
      return t(lang, 'grant_extend', {
        plan,
        from: formatDate(lang, preview.from),
        to: formatDate(lang, preview.to),
        periods: t(lang, `interval_n_${preview.plan.interval}`, { n: preview.periods }),
      })
    case 'to_default':
      if (!current) return t(lang, 'grant_new', { plan, until: '—' })
      return paid !== null
        ? t(lang, 'grant_to_default_paid', {
            current: name(current.planId),
            date: formatDate(lang, paid),
            plan,
          })
        : t(lang, 'grant_to_default', { current: name(current.planId), plan })
    case 'replace': {
      const until = formatDate(lang, preview.paidUntil)
      if (!current) return t(lang, 'grant_new', { plan, until })
      return paid !== null
        ? t(lang, 'grant_replace_paid', {
            current: name(current.planId),
            date: formatDate(lang, paid),
            plan,
            until,
          })
        : t(lang, 'grant_replace', { current: name(current.planId), plan, until })
    }
  }
}
