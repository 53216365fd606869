import type { SubscriptionRow } from '../../../db/tables.ts'
import type { listUsersWithUsage } from '../../billing/admin-users.service.ts'
import type { Plan } from '../../billing/plan.ts'
import type { PeriodUsage } from '../../ledger/usage.service.ts'
import type { UserDetails } from '../admin-user-view.ts'
import {
  type DayUsage,
  kopecks,
  metricColumns,
  TransactionTable,
  type TxJson,
  UsageChart,
} from '../components.tsx'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatDate, formatDateTime, formatNumber, type Lang, planName, t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import {
  AccountSection,
  AuditTable,
  GrantForm,
  KeysSection,
  RequestsSection,
} from './admin-user-parts.tsx'
import { HeldPacks } from './packs-section.tsx'

/** The console's sections, on top of each of its pages. */
export function AdminNav({ lang }: { lang: Lang }) {
  return (
    <nav aria-label="console" class="actions">
      <a href="/admin">{t(lang, 'admin_users')}</a>
      <a href="/admin/plans">{t(lang, 'admin_plans')}</a>
      <a href="/admin/webhooks">{t(lang, 'admin_webhooks')}</a>
      <a href="/admin/margin">{t(lang, 'admin_margin')}</a>
      <a href="/admin/promo">{t(lang, 'admin_promo')}</a>
      <a href="/admin/health">{t(lang, 'admin_health')}</a>
      <a href="/admin/audit">{t(lang, 'admin_audit')}</a>
    </nav>
  )
}

/** Finds a payment by its YooKassa id (or transaction id) and opens its user's page. */
export function PaymentSearch({ lang }: { lang: Lang }) {
  return (
    <form
      method="get"
      action="/admin/payments"
      class="inline"
      aria-label={t(lang, 'payment_search')}
    >
      <div>
        <label for="payment-q">{t(lang, 'payment_search_label')}</label>
        <input id="payment-q" name="q" required autocomplete="off" />
      </div>
      <button type="submit">{t(lang, 'payment_search')}</button>
    </form>
  )
}

export function Notice({ text }: { text: string | undefined }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null
}

function percent(lang: Lang, usage: PeriodUsage[keyof PeriodUsage]) {
  if (usage.limit === null) return t(lang, 'unlimited')
  const share = usage.limit === 0 ? 100 : ((usage.used + usage.reserved) / usage.limit) * 100
  return `${formatNumber(lang, Math.round(share))} %`
}

type UserList = Awaited<ReturnType<typeof listUsersWithUsage>>

/** GET /admin: users on a live plan, searchable, sortable by how close they are to a limit. */
export function renderUsers(c: WebContext, list: UserList, query: { q: string; sort: string }) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'admin_title'),
    <>
      <AdminNav lang={lang} />
      <h2>{t(lang, 'admin_users')}</h2>
      <form method="get" action="/admin" class="inline" aria-label={t(lang, 'search')}>
        <div>
          <label for="q">{t(lang, 'search_users_payments')}</label>
          <input id="q" name="q" value={query.q} />
        </div>
        <div>
          <label for="sort">{t(lang, 'sort_by')}</label>
          <select id="sort" name="sort">
            <option value="usage" selected={query.sort === 'usage'}>
              {t(lang, 'sort_usage')}
            </option>
            <option value="newest" selected={query.sort === 'newest'}>
              {t(lang, 'sort_newest')}
            </option>
          </select>
        </div>
        <button type="submit">{t(lang, 'search_button')}</button>
      </form>
      <DataTable
        rows={list.rows}
        empty={t(lang, 'users_empty')}
        rowData={(row) => ({ 'data-user': row.subscription.user_id })}
        columns={[
          {
            head: t(lang, 'col_user'),
            cell: (row) => (
              <a href={`/admin/users/${encodeURIComponent(row.subscription.user_id)}`}>
                {row.subscription.user_id}
              </a>
            ),
          },
          { head: t(lang, 'col_email'), cell: (row) => row.email ?? '—' },
          {
            head: t(lang, 'col_plan'),
            cell: (row) => (row.plan ? planName(lang, row.plan) : row.subscription.plan_id),
          },
          {
            head: t(lang, 'col_status'),
            cell: (row) => t(lang, `status_${row.subscription.status}`),
          },
          ...metricColumns<UserList['rows'][number]>(lang, (row, m) => percent(lang, row.usage[m])),
          {
            head: t(lang, 'col_last_request'),
            cell: (row) =>
              row.lastRequestAt ? formatDateTime(lang, row.lastRequestAt) : t(lang, 'never'),
          },
        ]}
      />
    </>,
  )
}

export interface UserView {
  userId: string
  subscriptions: Array<{ subscription: SubscriptionRow; usage: PeriodUsage }>
  plans: Plan[]
  days: DayUsage[]
  byModel: Array<{ model: string; metric: string; amount: number }>
  transactions: TxJson[]
  paymentsEnabled: boolean
  details: UserDetails
}

/** GET /admin/users/:id: subscriptions, usage by day and model, transactions (refund), grant. */
export function renderUser(c: WebContext, view: UserView, notice?: string) {
  const lang = c.get('lang')
  const planNames = new Map(view.plans.map((p) => [p.id, planName(lang, p)]))
  const models = [...new Set(view.byModel.map((r) => r.model))]
  const amount = (model: string, metric: string) =>
    view.byModel
      .filter((r) => r.model === model && r.metric === metric)
      .reduce((s, r) => s + r.amount, 0)
  return renderPage(
    c,
    t(lang, 'user_title', { id: view.userId }),
    <>
      <AdminNav lang={lang} />
      <Notice text={notice} />
      <AccountSection c={c} userId={view.userId} details={view.details} />
      <section aria-labelledby="subs-h">
        <h2 id="subs-h">{t(lang, 'user_subscriptions')}</h2>
        <DataTable
          rows={view.subscriptions}
          columns={[
            {
              head: t(lang, 'col_plan'),
              cell: ({ subscription: s }) => planNames.get(s.plan_id) ?? s.plan_id,
            },
            {
              head: t(lang, 'col_status'),
              cell: ({ subscription: s }) => t(lang, `status_${s.status}`),
            },
            {
              head: t(lang, 'col_period'),
              cell: ({ subscription: s }) => (
                <>
                  {formatDate(lang, s.current_period_start)} –{' '}
                  {formatDate(lang, s.current_period_end)}
                </>
              ),
            },
            {
              head: t(lang, 'paid_until'),
              cell: ({ subscription: s }) => formatDate(lang, s.paid_until),
            },
            ...metricColumns<UserView['subscriptions'][number]>(lang, ({ usage }, m) => (
              <>
                {formatNumber(lang, usage[m].used)} /{' '}
                {usage[m].limit === null ? '∞' : formatNumber(lang, usage[m].limit!)}
              </>
            )),
          ]}
        />
      </section>
      <GrantForm lang={lang} userId={view.userId} plans={view.plans} />
      <section aria-labelledby="user-packs-h">
        <h2 id="user-packs-h">{t(lang, 'packs_title')}</h2>
        <HeldPacks lang={lang} held={view.details.packs} level={3} />
      </section>
      <KeysSection c={c} userId={view.userId} details={view.details} />
      <RequestsSection lang={lang} details={view.details} />
      <section aria-labelledby="daily-h">
        <h2 id="daily-h">{t(lang, 'user_usage_by_day')}</h2>
        <UsageChart lang={lang} days={view.days} />
      </section>
      <section aria-labelledby="models-h">
        <h2 id="models-h">{t(lang, 'user_usage_by_model')}</h2>
        <DataTable
          rows={models}
          empty={t(lang, 'chart_empty')}
          columns={[
            { head: t(lang, 'col_model'), cell: (model) => model },
            ...metricColumns<string>(lang, (model, m) => formatNumber(lang, amount(model, m))),
          ]}
        />
      </section>
      <section aria-labelledby="tx-h">
        <h2 id="tx-h">{t(lang, 'history_title')}</h2>
        <TransactionTable
          lang={lang}
          rows={view.transactions}
          planNames={planNames}
          action={(tx) =>
            view.paymentsEnabled &&
            tx.kind !== 'refund' &&
            (tx.status === 'succeeded' || tx.status === 'refunded') &&
            kopecks(tx.amount) > kopecks(tx.refunded_amount) ? (
              <a href={`/admin/transactions/${encodeURIComponent(tx.id)}/refund`}>
                {t(lang, 'refund')}
              </a>
            ) : null
          }
        />
      </section>
      <section aria-labelledby="audit-h">
        <h2 id="audit-h">{t(lang, 'user_audit')}</h2>
        <AuditTable lang={lang} rows={view.details.audit} />
      </section>
    </>,
  )
}
