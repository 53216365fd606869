import type { listRecentWebhookEvents } from '../../payments/webhook-events.repo.ts'
import { kopecks, type TxJson } from '../components.tsx'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import type { checkHealth } from '../health.ts'
import { formatDateTime, formatMoney, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { AdminNav, PaymentSearch } from './admin-users.tsx'

type WebhookEvent = Awaited<ReturnType<typeof listRecentWebhookEvents>>[number]

/** GET /admin/webhooks: the latest notifications and what became of each. */
export function renderWebhooks(
  c: WebContext,
  events: WebhookEvent[],
  transactions: Map<string, { id: string; user_id: string }>,
) {
  const lang = c.get('lang')
  const badge = (outcome: string) =>
    outcome.startsWith('applied') || outcome.startsWith('credited')
      ? 'ok'
      : outcome.startsWith('rejected') || outcome.startsWith('failed')
        ? 'bad'
        : ''
  return renderPage(
    c,
    t(lang, 'admin_webhooks'),
    <>
      <AdminNav lang={lang} />
      <PaymentSearch lang={lang} />
      <DataTable
        rows={events}
        empty={t(lang, 'webhooks_empty')}
        columns={[
          { head: t(lang, 'col_time'), cell: (e) => formatDateTime(lang, e.received_at) },
          { head: t(lang, 'col_event'), cell: (e) => e.event },
          { head: t(lang, 'col_payment'), cell: (e) => <code>{e.object_id ?? '—'}</code> },
          {
            head: t(lang, 'col_outcome'),
            cell: (e) => <span class={`badge ${badge(e.outcome)}`}>{e.outcome}</span>,
          },
          {
            head: t(lang, 'col_transaction'),
            cell: (e) => {
              const tx = e.object_id ? transactions.get(e.object_id) : undefined
              const user = tx && `/admin/users/${encodeURIComponent(tx.user_id)}`
              return tx ? (
                <>
                  <a href={`${user}?tx=${encodeURIComponent(tx.id)}#tx-h`}>{tx.id}</a>
                  <div>
                    <a href={user}>{tx.user_id}</a>
                  </div>
                </>
              ) : (
                '—'
              )
            },
          },
        ]}
      />
    </>,
  )
}

/** GET /admin/health: database and upstreams, checked now. */
export function renderHealth(c: WebContext, health: Awaited<ReturnType<typeof checkHealth>>) {
  const lang = c.get('lang')
  const db = health.database
  return renderPage(
    c,
    t(lang, 'admin_health'),
    <>
      <AdminNav lang={lang} />
      <dl class="facts panel">
        <dt>{t(lang, 'health_database')}</dt>
        <dd data-testid="health-database">
          <span class={`badge ${db.ok && db.pending === 0 ? 'ok' : 'bad'}`}>
            {db.ok ? t(lang, 'health_ok') : t(lang, 'health_down')}
          </span>{' '}
          {db.dialect}, {db.ms} ms
          {db.pending > 0 && <> · {t(lang, 'health_pending', { n: db.pending })}</>}
        </dd>
        <dt>{t(lang, 'payments_status')}</dt>
        <dd>{health.payments ? t(lang, 'payments_on') : t(lang, 'payments_off')}</dd>
      </dl>
      <h2>{t(lang, 'health_upstreams')}</h2>
      <DataTable
        rows={health.upstreams}
        rowData={(u) => ({ 'data-upstream': u.name })}
        columns={[
          { rowHeader: true, cell: (u) => u.name },
          { cell: (u) => <code>{u.baseUrl}</code> },
          { cell: (u) => t(lang, u.hasKey ? 'health_key' : 'health_no_key') },
          {
            cell: (u) => (
              <span class={`badge ${u.status !== null && u.status < 400 ? 'ok' : 'bad'}`}>
                {u.status !== null
                  ? t(lang, 'health_answered', { status: u.status, ms: u.ms })
                  : t(lang, 'health_failed', { reason: u.error ?? '' })}
              </span>
            ),
          },
        ]}
      />
      <h2>{t(lang, 'health_keys')}</h2>
      <DataTable
        rows={health.keys}
        rowData={(k) => ({ 'data-key': `${k.upstream}/${k.key}` })}
        columns={[
          { rowHeader: true, cell: (k) => k.upstream },
          { cell: (k) => <code>{k.key}</code> },
          {
            cell: (k) => (
              <span class={`badge ${k.state === 'ok' ? 'ok' : 'bad'}`}>
                {k.state === 'ok'
                  ? t(lang, 'health_key_ok')
                  : t(lang, 'health_key_resting', { reason: k.state, s: k.restsForS })}
              </span>
            ),
          },
          {
            cell: (k) =>
              t(lang, 'health_key_counts', {
                requests: k.requests,
                rests: k.rests,
                ms: k.avgMs ?? '-',
              }),
          },
          { cell: (k) => k.failures || '-' },
        ]}
      />
    </>,
  )
}

/** GET /admin/transactions/:id/refund: the amount (what remains by default), then one button. */
export function renderRefundConfirm(c: WebContext, tx: TxJson) {
  const lang = c.get('lang')
  const remaining = kopecks(tx.amount) - kopecks(tx.refunded_amount)
  const amount = formatMoney(lang, remaining, tx.currency)
  return renderPage(
    c,
    t(lang, 'refund_title'),
    <>
      <AdminNav lang={lang} />
      <p>
        {t(lang, 'refund_confirm', {
          amount,
          date: formatDateTime(lang, tx.created_at),
          user: tx.user_id,
        })}
      </p>
      <Form c={c} action={`/admin/transactions/${encodeURIComponent(tx.id)}/refund`} class="panel">
        <label for="refund-amount">{t(lang, 'refund_amount')}</label>
        <input
          id="refund-amount"
          name="amount"
          value={(remaining / 100).toFixed(2)}
          inputmode="decimal"
          data-amount-for="refund-submit"
        />
        <p class="actions">
          <button
            type="submit"
            class="danger"
            id="refund-submit"
            data-template={t(lang, 'refund_button', { amount: '{amount}' })}
            data-locale={lang === 'ru' ? 'ru-RU' : 'en-US'}
            data-currency={tx.currency}
          >
            {t(lang, 'refund_button', { amount })}
          </button>
          <a class="button secondary" href={`/admin/users/${encodeURIComponent(tx.user_id)}`}>
            {t(lang, 'back_to_console')}
          </a>
        </p>
      </Form>
    </>,
  )
}
