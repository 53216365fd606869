import type { PackRow } from '../../../db/tables.ts'
import type { Plan } from '../../billing/plan.ts'
import { METRICS } from '../../ledger/amounts.ts'
import { metricColumns } from '../components.tsx'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatMoney, formatNumber, planName, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import type { MessageKey } from '../messages.ts'
import type { PlanFormValues } from '../plan-form.ts'
import { rateWindowPhrases } from '../rate-windows.tsx'
import { AdminNav, Notice } from './admin-users.tsx'
import { PackDefinitions } from './packs-section.tsx'

/** GET /admin/plans: every plan (inactive ones too) in display order, with reorder and (de)activate. */
export function renderPlans(
  c: WebContext,
  plans: Plan[],
  notice: string | undefined,
  reach: { subscribers: Map<string, number>; defaultPlanId: string },
  packs: PackRow[] = [],
) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'admin_plans'),
    <>
      <AdminNav lang={lang} />
      <Notice text={notice} />
      <p>
        <a class="button" href="/admin/plans/new">
          {t(lang, 'plan_new')}
        </a>
      </p>
      <DataTable
        rows={plans}
        rowData={(plan) => ({ 'data-plan': plan.id })}
        columns={[
          {
            head: t(lang, 'col_order'),
            cell: (plan) => {
              const index = plans.indexOf(plan)
              return (
                <div class="inline">
                  {index > 0 && <MoveButton c={c} plan={plan} direction="up" />}
                  {index < plans.length - 1 && <MoveButton c={c} plan={plan} direction="down" />}
                </div>
              )
            },
          },
          {
            head: t(lang, 'col_plan'),
            cell: (plan) => (
              <>
                <a href={`/admin/plans/${encodeURIComponent(plan.id)}`}>{planName(lang, plan)}</a>{' '}
                <span class="muted">({plan.id})</span>
                <div class="muted" data-subscribers={String(reach.subscribers.get(plan.id) ?? 0)}>
                  {t(lang, 'plan_subscribers', { n: reach.subscribers.get(plan.id) ?? 0 })}
                  {plan.id === reach.defaultPlanId && <> · {t(lang, 'plan_default_badge')}</>}
                </div>
              </>
            ),
          },
          {
            head: t(lang, 'col_price'),
            num: true,
            cell: (plan) => formatMoney(lang, plan.price, plan.currency),
          },
          ...metricColumns<Plan>(lang, (plan, m) =>
            plan.quotas[m] === null ? '∞' : formatNumber(lang, plan.quotas[m]!),
          ),
          {
            head: t(lang, 'col_rate_windows'),
            cell: (plan) => (
              <span data-rate-windows>{rateWindowPhrases(lang, plan).join(' · ') || '—'}</span>
            ),
          },
          {
            head: t(lang, 'col_active'),
            cell: (plan) =>
              plan.id === reach.defaultPlanId && plan.is_active ? (
                <DeactivateDefault c={c} plan={plan} plans={plans} />
              ) : (
                <div class="inline">
                  <Form c={c} action={`/admin/plans/${encodeURIComponent(plan.id)}/active`}>
                    <input type="hidden" name="active" value={plan.is_active ? 'off' : 'on'} />
                    {plan.is_active ? t(lang, 'yes') : t(lang, 'plan_inactive')}{' '}
                    <button type="submit" class="secondary">
                      {t(lang, plan.is_active ? 'plan_deactivate' : 'plan_activate')}
                    </button>
                  </Form>
                  {plan.is_active && (
                    <a
                      class="button secondary"
                      href={`/admin/plans/${encodeURIComponent(plan.id)}/default`}
                      aria-label={t(lang, 'plan_make_default_aria', { plan: planName(lang, plan) })}
                    >
                      {t(lang, 'plan_make_default')}
                    </a>
                  )}
                </div>
              ),
          },
        ]}
      />
      <PackDefinitions lang={lang} packs={packs} />
    </>,
  )
}

/**
 * The default plan's Active cell: it is deactivated only with the active plan that takes
 * its place chosen in the same form (the server refuses it otherwise).
 */
function DeactivateDefault(props: { c: WebContext; plan: Plan; plans: Plan[] }) {
  const lang = props.c.get('lang')
  const { plan } = props
  const others = props.plans.filter((p) => p.is_active && p.id !== plan.id)
  const field = `new-default-${plan.id}`
  return (
    <Form c={props.c} action={`/admin/plans/${encodeURIComponent(plan.id)}/active`}>
      {t(lang, 'yes')} <span class="muted">({t(lang, 'plan_default_badge')})</span>
      <input type="hidden" name="active" value="off" />
      <div>
        <label for={field}>{t(lang, 'plan_new_default')}</label>
        <select id={field} name="new_default_plan_id" required>
          <option value="">{t(lang, 'plan_new_default_choose')}</option>
          {others.map((p) => (
            <option value={p.id}>{planName(lang, p)}</option>
          ))}
        </select>
      </div>
      <button type="submit" class="secondary">
        {t(lang, 'plan_deactivate_default')}
      </button>
    </Form>
  )
}

/** One step up or down the display order: ↑ or ↓, named for screen readers. */
function MoveButton(props: { c: WebContext; plan: Plan; direction: 'up' | 'down' }) {
  const lang = props.c.get('lang')
  const name = planName(lang, props.plan)
  return (
    <Form c={props.c} action={`/admin/plans/${encodeURIComponent(props.plan.id)}/move`}>
      <input type="hidden" name="direction" value={props.direction} />
      <button
        type="submit"
        class="secondary"
        aria-label={t(lang, props.direction === 'up' ? 'plan_up' : 'plan_down', { name })}
      >
        {props.direction === 'up' ? '↑' : '↓'}
      </button>
    </Form>
  )
}

const TEXT_FIELDS: Array<[string, MessageKey]> = [
  ['name', 'field_name'],
  ['name_ru', 'field_name_ru'],
  ['description', 'field_description'],
  ['description_ru', 'field_description_ru'],
  ['price', 'field_price'],
  ['currency', 'field_currency'],
]

/** The plan form (new or edit), with the API schema's message next to each bad field. */
export function renderPlanForm(
  c: WebContext,
  input: {
    id?: string
    values: PlanFormValues
    errors: Record<string, string>
    /** Live subscribers of the plan being edited: told before saving. */
    affects?: number
  },
) {
  const lang = c.get('lang')
  const { values, errors } = input
  const editing = input.id !== undefined
  const field = (name: string, label: MessageKey, hint?: string, type = 'text') => (
    <div>
      <label for={`f-${name}`}>
        {t(lang, label)}
        {hint && <span class="muted"> ({hint})</span>}
      </label>
      <input
        id={`f-${name}`}
        name={name}
        type={type}
        value={values[name] ?? ''}
        aria-invalid={errors[name] ? 'true' : undefined}
        aria-describedby={errors[name] ? `e-${name}` : undefined}
      />
      {errors[name] && (
        <p class="field-error" id={`e-${name}`}>
          {errors[name]}
        </p>
      )}
    </div>
  )
  const title = editing ? t(lang, 'plan_edit', { id: input.id! }) : t(lang, 'plan_new')
  return renderPage(
    c,
    title,
    <>
      <AdminNav lang={lang} />
      {Object.keys(errors).length > 0 && (
        <p class="notice error" role="alert">
          {t(lang, 'plan_fix_errors')}
        </p>
      )}
      {input.affects !== undefined && (
        <p class="notice pending" data-testid="plan-affects">
          {t(lang, 'plan_affects', { n: input.affects })}
        </p>
      )}
      <Form
        c={c}
        action={editing ? `/admin/plans/${encodeURIComponent(input.id!)}` : '/admin/plans'}
        class="panel"
      >
        {!editing && field('id', 'field_id')}
        {TEXT_FIELDS.map(([name, label]) => field(name, label))}
        <div>
          <label for="f-interval">{t(lang, 'col_interval')}</label>
          <select id="f-interval" name="interval">
            {(['day', 'week', 'month', 'year'] as const).map((i) => (
              <option value={i} selected={values.interval === i}>
                {t(lang, `interval_${i}`)}
              </option>
            ))}
          </select>
        </div>
        {METRICS.map((m) => field(`quota_${m}`, `metric_${m}`, t(lang, 'field_quota_hint')))}
        {editing && (
          <fieldset>
            <legend>{t(lang, 'plan_apply')}</legend>
            <label>
              <input type="radio" name="apply" value="next" checked={values.apply !== 'now'} />{' '}
              {t(lang, 'plan_apply_next')}
            </label>
            <label>
              <input type="radio" name="apply" value="now" checked={values.apply === 'now'} />{' '}
              {t(lang, 'plan_apply_now')}
            </label>
          </fieldset>
        )}
        {field('features', 'field_features')}
        {field('display_order', 'col_order', undefined, 'number')}
        <div>
          <label>
            <input type="checkbox" name="is_active" checked={values.is_active === 'on'} />{' '}
            {t(lang, 'field_is_active')}
          </label>
          {errors.is_active && <p class="field-error">{errors.is_active}</p>}
        </div>
        <p class="actions">
          <button type="submit">{t(lang, editing ? 'plan_save' : 'plan_create')}</button>
          <a class="button secondary" href="/admin/plans">
            {t(lang, 'back_to_console')}
          </a>
        </p>
      </Form>
    </>,
    { status: Object.keys(errors).length > 0 ? 400 : 200 },
  )
}
