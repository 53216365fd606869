import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Plan } from '../../billing/plan.ts'
import { METRICS } from '../../ledger/amounts.ts'
import type { BillingView } from '../billing-view.ts'
import { TransactionTable, UsageChart, UsageMeter } from '../components.tsx'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import {
  formatDate,
  formatMoney,
  formatNumber,
  type Lang,
  perInterval,
  planDescription,
  planName,
  t,
} from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { RateWindowItems } from '../rate-windows.tsx'
import { PromoSection } from './admin-promo.tsx'
import { PaymentNextStep, planModels, QuotaBanner, RenewalLine } from './billing-next-step.tsx'
import { PacksSection } from './packs-section.tsx'
import { TokenClassesLine } from './token-classes-line.tsx'

export interface Notice {
  kind: 'ok' | 'error'
  text: string
}

const STATUS_BADGE = { active: 'ok', past_due: 'warn', canceled: 'bad', expired: 'bad' } as const

/** "RUB 990/month" or "990 ₽/мес". */
function priceLabel(lang: Lang, plan: Plan): string {
  return `${formatMoney(lang, plan.price, plan.currency, true)}${perInterval(lang, plan.interval)}`
}

/** GET /billing: the first screen answers which plan, how much is left, and what can be bought. */
export function renderBilling(
  c: WebContext,
  view: BillingView,
  notice?: Notice,
  status?: ContentfulStatusCode,
) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'billing_title'),
    <>
      <QuotaBanner c={c} view={view} />
      <PaymentNextStep c={c} view={view} />
      {notice && (
        <p class={`notice${notice.kind === 'error' ? ' error' : ''}`} role="status">
          {notice.text}
        </p>
      )}
      <div class="grid two">
        <Summary c={c} view={view} />
        <Usage lang={lang} view={view} />
      </div>
      <section aria-labelledby="chart-h">
        <h2 id="chart-h">{t(lang, 'chart_title')}</h2>
        <UsageChart lang={lang} days={view.days} />
        <UsageChart lang={lang} days={view.days} narrow />
      </section>
      <Plans c={c} view={view} />
      <PacksSection
        c={c}
        forSale={view.packsForSale}
        held={view.packs}
        paymentsEnabled={view.paymentsEnabled}
      />
      {view.paymentsEnabled && (
        <PromoSection
          c={c}
          waiting={view.waitingDiscounts}
          plans={new Map(view.plans.map((p) => [p.id, planName(lang, p)]))}
        />
      )}
      <section aria-labelledby="history-h">
        <h2 id="history-h">{t(lang, 'history_title')}</h2>
        <TransactionTable
          lang={lang}
          rows={view.transactions}
          planNames={new Map(view.plans.map((p) => [p.id, planName(lang, p)]))}
        />
      </section>
      <Keys c={c} view={view} />
    </>,
    { status },
  )
}

function Summary({ c, view }: { c: WebContext; view: BillingView }) {
  const lang = c.get('lang')
  if (!view.live) {
    return (
      <section class="card" aria-labelledby="plan-h">
        <h2 id="plan-h">{t(lang, 'your_plan')}</h2>
        <p>{t(lang, 'no_plan')}</p>
      </section>
    )
  }
  const { subscription: sub, plan } = view.live
  const cancelable = plan.id !== view.defaultPlanId
  return (
    <section class="card" aria-labelledby="plan-h">
      <h2 id="plan-h">
        {t(lang, 'your_plan')}: <span data-testid="current-plan">{planName(lang, plan)}</span>
      </h2>
      <dl class="facts">
        <dt>{t(lang, 'status')}</dt>
        <dd>
          <span class={`badge ${STATUS_BADGE[sub.status]}`}>{t(lang, `status_${sub.status}`)}</span>
        </dd>
        <dt>{t(lang, 'period_ends')}</dt>
        <dd>{formatDate(lang, sub.current_period_end)}</dd>
        <dt>{t(lang, 'paid_until')}</dt>
        <dd>{sub.paid_until === null ? t(lang, 'not_paid') : formatDate(lang, sub.paid_until)}</dd>
      </dl>
      <RenewalLine lang={lang} view={view} />
      {sub.cancel_at_period_end ? (
        <div class="notice pending">
          <p>
            {t(lang, 'cancels_at_end', {
              date: formatDate(lang, sub.paid_until ?? sub.current_period_end),
            })}
          </p>
          <Form c={c} action="/billing/resume">
            <button type="submit">{t(lang, 'resume')}</button>
          </Form>
        </div>
      ) : null}
      {cancelable && (
        <div class="actions">
          {!sub.cancel_at_period_end && (
            <a class="button secondary" href="/billing/cancel?when=end">
              {t(lang, 'cancel_at_end')}
            </a>
          )}
          <a class="button secondary" href="/billing/cancel?when=now">
            {t(lang, 'cancel_now')}
          </a>
        </div>
      )}
    </section>
  )
}

function Usage({ lang, view }: { lang: Lang; view: BillingView }) {
  if (!view.live || !view.usage) return null
  const usage = view.usage
  return (
    <section class="card" aria-labelledby="usage-h">
      <h2 id="usage-h">{t(lang, 'usage_title')}</h2>
      {METRICS.map((metric) => (
        <UsageMeter
          lang={lang}
          metric={metric}
          usage={usage[metric]}
          resetsAt={view.live!.subscription.current_period_end}
        />
      ))}
      <TokenClassesLine lang={lang} classes={view.classes} />
    </section>
  )
}

function Plans({ c, view }: { c: WebContext; view: BillingView }) {
  const lang = c.get('lang')
  const currentId = view.live?.plan.id
  return (
    <section aria-labelledby="plans-h">
      <h2 id="plans-h">{t(lang, 'plans_title')}</h2>
      {!view.paymentsEnabled && <p class="muted">{t(lang, 'payments_off')}</p>}
      <div class="grid three">
        {view.plans.map((plan) => {
          const current = plan.id === currentId
          const free = plan.price <= 0 || plan.id === view.defaultPlanId
          const name = planName(lang, plan)
          const price = priceLabel(lang, plan)
          return (
            <article
              class={`card plan${current ? ' current' : ''}`}
              aria-labelledby={`plan-${plan.id}`}
              data-plan={plan.id}
            >
              <h3 id={`plan-${plan.id}`}>{name}</h3>
              {current && <span class="badge ok">{t(lang, 'current_plan')}</span>}
              <p class="price">{free ? t(lang, 'free') : price}</p>
              {planDescription(lang, plan) && <p>{planDescription(lang, plan)}</p>}
              <ul>
                {METRICS.map((metric) => (
                  <li>
                    {t(lang, `metric_${metric}`)}:{' '}
                    {plan.quotas[metric] === null
                      ? t(lang, 'unlimited')
                      : formatNumber(lang, plan.quotas[metric]!)}
                  </li>
                ))}
                <RateWindowItems lang={lang} plan={plan} />
              </ul>
              <PlanModels lang={lang} models={planModels(view.featureModels, plan)} />
              {!free && view.paymentsEnabled && (
                <Form c={c} action="/billing/pay">
                  <input type="hidden" name="plan_id" value={plan.id} />
                  <button type="submit">
                    {t(lang, current ? 'pay_extend' : 'pay_upgrade', { plan: name, price })}
                  </button>
                </Form>
              )}
            </article>
          )
        })}
      </div>
    </section>
  )
}

function Keys({ c, view }: { c: WebContext; view: BillingView }) {
  const lang = c.get('lang')
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">{t(lang, 'keys_title')}</h2>
      <Form c={c} action="/billing/keys" class="inline">
        <div>
          <label for="key-name">{t(lang, 'key_name')}</label>
          <input id="key-name" name="name" required maxlength={100} autocomplete="off" />
        </div>
        <button type="submit">{t(lang, 'key_create')}</button>
      </Form>
      <DataTable
        rows={view.keys}
        empty={t(lang, 'keys_empty')}
        rowData={(key) => ({ 'data-key': key.id })}
        columns={[
          { head: t(lang, 'col_name'), cell: (key) => key.name },
          { head: t(lang, 'col_key'), cell: (key) => <code>{key.prefix}…</code> },
          { head: t(lang, 'col_created'), cell: (key) => formatDate(lang, key.created_at) },
          {
            head: t(lang, 'col_last_used'),
            cell: (key) =>
              key.last_used_at ? formatDate(lang, key.last_used_at) : t(lang, 'never'),
          },
          {
            head: t(lang, 'key_revoke'),
            cell: (key) => (
              <Form c={c} action={`/billing/keys/${encodeURIComponent(key.id)}/revoke`}>
                <button
                  type="submit"
                  class="secondary"
                  aria-label={t(lang, 'key_revoke_named', { name: key.name })}
                >
                  {t(lang, 'key_revoke')}
                </button>
              </Form>
            ),
          },
        ]}
      />
    </section>
  )
}

function PlanModels({ lang, models }: { lang: Lang; models: string[] }) {
  if (models.length === 0) return null
  return (
    <p class="muted models">
      {t(lang, 'plan_models')}: {models.join(', ')}
    </p>
  )
}
