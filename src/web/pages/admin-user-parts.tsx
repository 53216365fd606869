import type { ConsoleAuditRow } from '../../../db/tables.ts'
import type { Plan } from '../../billing/plan.ts'
import { REFUSALS_RECORDED_PER_MINUTE } from '../../pipeline/admission/refusal-cap.ts'
import type { UserDetails } from '../admin-user-view.ts'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatDateTime, formatNumber, type Lang, planName, t } from '../i18n.ts'
import { Form } from '../layout.tsx'
import type { MessageKey } from '../messages.ts'
import { classesText } from './token-classes-line.tsx'

const userPath = (userId: string) => `/admin/users/${encodeURIComponent(userId)}`

/** Email, role, sign-up, enabled or disabled (with the button that flips it), billing as them. */
export function AccountSection(props: { c: WebContext; userId: string; details: UserDetails }) {
  const { c, userId, details } = props
  const lang = c.get('lang')
  const user = details.user
  const disabled = user?.disabled_at !== null && user?.disabled_at !== undefined
  return (
    <section aria-labelledby="account-h">
      <h2 id="account-h">{t(lang, 'user_account')}</h2>
      {!user && <p class="muted">{t(lang, 'user_unknown')}</p>}
      <dl class="facts panel">
        <dt>{t(lang, 'col_email')}</dt>
        <dd>{user?.email ?? '—'}</dd>
        <dt>{t(lang, 'user_role')}</dt>
        <dd>{user?.role ?? '—'}</dd>
        <dt>{t(lang, 'user_signed_up')}</dt>
        <dd>{formatDateTime(lang, user?.created_at ?? null)}</dd>
        <dt>{t(lang, 'user_state')}</dt>
        <dd data-testid="user-state">
          <span class={`badge ${disabled ? 'bad' : 'ok'}`}>
            {disabled
              ? t(lang, 'user_disabled_since', { date: formatDateTime(lang, user!.disabled_at) })
              : t(lang, 'user_enabled')}
          </span>
        </dd>
      </dl>
      <Form c={c} action={`${userPath(userId)}/${disabled ? 'enable' : 'disable'}`} class="actions">
        <button type="submit" class={disabled ? undefined : 'danger'}>
          {t(lang, disabled ? 'user_enable' : 'user_disable')}
        </button>
        {!disabled && (
          <span class="muted">
            {t(lang, 'user_disable_hint', { seconds: details.cacheSeconds })}
          </span>
        )}
        <a class="button secondary" href={`${userPath(userId)}/billing`}>
          {t(lang, 'view_billing_as')}
        </a>
      </Form>
    </section>
  )
}

/**
 * Grant: no plan is chosen for the operator (the empty first option is
 * required away), and the button only asks for a review: nothing changes
 * before the confirmation page has named what will.
 */
export function GrantForm(props: { lang: Lang; userId: string; plans: Plan[] }) {
  const { lang, userId } = props
  return (
    <section aria-labelledby="grant-h">
      <h2 id="grant-h">{t(lang, 'grant_title')}</h2>
      <form method="get" action={`${userPath(userId)}/grant`} class="inline">
        <div>
          <label for="grant-plan">{t(lang, 'col_plan')}</label>
          <select id="grant-plan" name="plan_id" required>
            <option value="" selected>
              {t(lang, 'grant_choose')}
            </option>
            {props.plans.map((p) => (
              <option value={p.id}>{planName(lang, p)}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="grant-periods">{t(lang, 'grant_periods')}</label>
          <input
            id="grant-periods"
            name="periods"
            type="number"
            min={1}
            max={1200}
            value="1"
            required
          />
        </div>
        <button type="submit">{t(lang, 'grant_review')}</button>
      </form>
    </section>
  )
}

/** Live keys with their expiry and a revoke button each; a form to create one for the user. */
export function KeysSection(props: { c: WebContext; userId: string; details: UserDetails }) {
  const { c, userId } = props
  const lang = c.get('lang')
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">{t(lang, 'user_keys')}</h2>
      <DataTable
        rows={props.details.keys}
        empty={t(lang, 'keys_none')}
        rowData={(k) => ({ 'data-key': k.id })}
        columns={[
          { head: t(lang, 'col_name'), cell: (k) => k.name },
          { head: t(lang, 'col_key'), cell: (k) => <code>{k.prefix}…</code> },
          { head: t(lang, 'col_created'), cell: (k) => formatDateTime(lang, k.created_at) },
          { head: t(lang, 'col_last_used'), cell: (k) => formatDateTime(lang, k.last_used_at) },
          {
            head: t(lang, 'col_expires'),
            cell: (k) =>
              k.expires_at === null ? t(lang, 'never_expires') : formatDateTime(lang, k.expires_at),
          },
          {
            head: t(lang, 'key_revoke'),
            cell: (k) => (
              <Form c={c} action={`${userPath(userId)}/keys/${encodeURIComponent(k.id)}/revoke`}>
                <button type="submit" class="danger">
                  {t(lang, 'admin_key_revoke', { name: k.name })}
                </button>
              </Form>
            ),
          },
        ]}
      />
      <Form
        c={c}
        action={`${userPath(userId)}/keys`}
        class="inline"
        label={t(lang, 'key_create_for_user')}
      >
        <div>
          <label for="admin-key-name">{t(lang, 'key_new_name')}</label>
          <input id="admin-key-name" name="name" required maxlength={100} autocomplete="off" />
        </div>
        <div>
          <label for="admin-key-days">{t(lang, 'key_expires_days')}</label>
          <input id="admin-key-days" name="expires_in_days" type="number" min={1} max={3650} />
        </div>
        <button type="submit">{t(lang, 'key_create_for_user')}</button>
      </Form>
    </section>
  )
}

/** The last requests, newest first: the usage rows' settles and the refusals at admission. */
export function RequestsSection(props: { lang: Lang; details: UserDetails }) {
  const { lang } = props
  const n = (v: number) => formatNumber(lang, v)
  return (
    <section aria-labelledby="requests-h">
      <h2 id="requests-h">{t(lang, 'user_requests')}</h2>
      <p class="muted">{t(lang, 'requests_note', { n: REFUSALS_RECORDED_PER_MINUTE })}</p>
      <DataTable
        rows={props.details.requests}
        empty={t(lang, 'requests_none')}
        rowData={(r) => ({
          'data-request': r.requestId,
          'data-outcome': r.refusal ? 'refused' : 'settled',
        })}
        columns={[
          { head: t(lang, 'col_time'), cell: (r) => formatDateTime(lang, r.at) },
          { head: t(lang, 'col_model'), cell: (r) => r.model ?? '—' },
          { head: t(lang, 'metric_tokens_input'), num: true, cell: (r) => n(r.tokensInput) },
          { head: t(lang, 'metric_tokens_output'), num: true, cell: (r) => n(r.tokensOutput) },
          {
            head: t(lang, 'col_token_classes'),
            cell: (r) => (r.classes && classesText(lang, r.classes)) || '—',
          },
          { head: t(lang, 'col_status'), num: true, cell: (r) => r.status ?? '—' },
          {
            head: t(lang, 'col_latency'),
            num: true,
            cell: (r) => (r.latencyMs === null ? '—' : `${n(r.latencyMs)} ${t(lang, 'unit_ms')}`),
          },
          {
            head: t(lang, 'col_counted'),
            cell: (r) =>
              r.refusal ? (
                <span data-refusal={r.refusal.code}>
                  {t(lang, 'refused_because')} <code>{r.refusal.code}</code>: {r.refusal.message}
                </span>
              ) : (
                t(lang, r.estimated ? 'counted_estimated' : 'counted_upstream')
              ),
          },
          { head: t(lang, 'col_request'), cell: (r) => <code>{r.requestId}</code> },
        ]}
      />
    </section>
  )
}

const AUDIT_ACTIONS: Record<string, MessageKey> = {
  grant: 'audit_grant',
  refund: 'audit_refund',
  plan_create: 'audit_plan_create',
  plan_edit: 'audit_plan_edit',
  plan_active: 'audit_plan_active',
  plan_order: 'audit_plan_order',
  plan_default: 'audit_plan_default',
  key_create: 'audit_key_create',
  key_revoke: 'audit_key_revoke',
  user_disable: 'audit_user_disable',
  user_enable: 'audit_user_enable',
}

/** Audit rows: when, who, what, on whom, and the JSON before and after. */
export function AuditTable(props: { lang: Lang; rows: ConsoleAuditRow[] }) {
  const { lang } = props
  const action = (a: string) => (AUDIT_ACTIONS[a] ? t(lang, AUDIT_ACTIONS[a]) : a)
  return (
    <DataTable
      rows={props.rows}
      empty={t(lang, 'audit_empty')}
      rowData={(r) => ({ 'data-audit': r.action })}
      columns={[
        { head: t(lang, 'col_time'), cell: (r) => formatDateTime(lang, Number(r.created_at)) },
        { head: t(lang, 'col_actor'), cell: (r) => r.actor_id },
        { head: t(lang, 'col_action'), cell: (r) => action(r.action) },
        {
          head: t(lang, 'col_user'),
          cell: (r) =>
            r.target_user_id ? <a href={userPath(r.target_user_id)}>{r.target_user_id}</a> : '—',
        },
        { head: t(lang, 'col_subject'), cell: (r) => (r.subject ? <code>{r.subject}</code> : '—') },
        { head: t(lang, 'col_before'), cell: (r) => <AuditJson text={r.before} /> },
        { head: t(lang, 'col_after'), cell: (r) => <AuditJson text={r.after} /> },
      ]}
    />
  )
}

function AuditJson({ text }: { text: string | null }) {
  return text ? <code class="audit">{text}</code> : <>—</>
}
