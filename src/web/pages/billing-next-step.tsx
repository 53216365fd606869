import type { Plan } from '../../billing/plan.ts'
import { METRICS, type Metric } from '../../ledger/amounts.ts'
import type { BillingView } from '../billing-view.ts'
import type { TxJson } from '../components.tsx'
import { declineReason } from '../decline-reasons.ts'
import type { WebContext } from '../env.ts'
import { formatDate, formatMoney, type Lang, perInterval, planName, t } from '../i18n.ts'
import { Form } from '../layout.tsx'

/** A declined payment is offered again this long; an older one is history only. */
const DECLINE_SHOWN_SECONDS = 7 * 86_400

/**
 * The top of /billing when a quota is spent or nearly so: which one, when it resets, and the
 * upgrade at hand (the button, not a scroll to the plans). Nothing when all is well.
 */
export function QuotaBanner({ c, view }: { c: WebContext; view: BillingView }) {
  const lang = c.get('lang')
  if (!view.live || !view.usage) return null
  const resetsAt = formatDate(lang, view.live.subscription.current_period_end)
  const spent = METRICS.filter((m) => isSpent(view.usage![m]))
  const warnAt = Math.min(...view.softLimitPercents)
  const near = METRICS.map((m) => ({ metric: m, percent: percentUsed(view.usage![m]) })).filter(
    (m) => m.percent !== null && m.percent >= warnAt && !spent.includes(m.metric),
  )
  if (spent.length === 0 && near.length === 0) return null
  const metricName = (metric: Metric) => t(lang, `metric_${metric}`)
  const upgrade = upgradeTarget(view)
  return (
    <section
      class={`banner ${spent.length > 0 ? 'error' : 'warn'}`}
      aria-label={t(lang, 'usage_title')}
      data-testid="quota-banner"
    >
      {spent.map((metric) => (
        <p>{t(lang, 'banner_exhausted', { metric: metricName(metric), date: resetsAt })}</p>
      ))}
      {near.map(({ metric, percent }) => (
        <p>
          {t(lang, 'banner_warning', {
            metric: metricName(metric),
            percent: percent!,
            date: resetsAt,
          })}
        </p>
      ))}
      <div class="actions">
        {upgrade && view.paymentsEnabled && (
          <Form c={c} action="/billing/pay">
            <input type="hidden" name="plan_id" value={upgrade.plan.id} />
            <button type="submit">
              {t(lang, upgrade.extend ? 'pay_extend' : 'pay_upgrade', {
                plan: planName(lang, upgrade.plan),
                price: priceLabel(lang, upgrade.plan),
              })}
            </button>
          </Form>
        )}
        <a class="button secondary" href="#plans-h">
          {t(lang, 'banner_see_plans')}
        </a>
      </div>
    </section>
  )
}

/** Whether the plan renews by itself, said plainly, for a paid plan not set to end. */
export function RenewalLine({ lang, view }: { lang: Lang; view: BillingView }) {
  const live = view.live
  if (!live || live.subscription.paid_until === null || live.subscription.cancel_at_period_end) {
    return null
  }
  const sub = live.subscription
  const date = formatDate(lang, sub.paid_until)
  const auto = sub.auto_renew === 1 && sub.payment_method_id !== null
  return (
    <p data-testid="renewal">
      {auto
        ? t(lang, 'renew_auto', { date })
        : t(lang, 'renew_manual', { date, plan: planName(lang, live.plan) })}
    </p>
  )
}

/**
 * The newest checkout when it is not done: pending, with its payment page and a way back to
 * the plans; or declined, with YooKassa's reason and the same plan offered again.
 */
export function PaymentNextStep({ c, view }: { c: WebContext; view: BillingView }) {
  const lang = c.get('lang')
  const tx = view.transactions.find((row) => row.kind === 'payment')
  if (!tx || !tx.plan_id) return null
  const plan = view.plans.find((p) => p.id === tx.plan_id)
  const name = plan ? planName(lang, plan) : tx.plan_id
  if (tx.status === 'pending' || tx.status === 'waiting_for_capture') {
    return (
      <section
        class="notice pending"
        data-testid="payment-next-step"
        aria-label={t(lang, 'return_title')}
      >
        <p>{t(lang, 'pending_payment', { plan: name, date: formatDate(lang, tx.created_at) })}</p>
        <PendingActions lang={lang} tx={tx} />
      </section>
    )
  }
  const now = view.now
  if (tx.status === 'canceled' && now - tx.updated_at < DECLINE_SHOWN_SECONDS) {
    return (
      <section
        class="notice error"
        data-testid="payment-next-step"
        aria-label={t(lang, 'return_title')}
      >
        <p>
          {t(lang, 'declined_payment', {
            plan: name,
            reason: declineReason(lang, tx.cancellation_reason),
          })}
        </p>
        <TryAgain c={c} tx={tx} />
      </section>
    )
  }
  return null
}

/** "Continue to payment" (the payment page YooKassa gave) and "Choose again" (the plans). */
export function PendingActions({ lang, tx }: { lang: Lang; tx: TxJson }) {
  return (
    <div class="actions">
      {tx.confirmation_url && (
        <a class="button" href={tx.confirmation_url} rel="noreferrer">
          {t(lang, 'pay_continue')}
        </a>
      )}
      <a class="button secondary" href="/billing#plans-h">
        {t(lang, 'pay_choose_again')}
      </a>
    </div>
  )
}

/** A new checkout of the declined payment's plan (a new payment, a new idempotence key). */
export function TryAgain({ c, tx }: { c: WebContext; tx: TxJson }) {
  const lang = c.get('lang')
  return (
    <div class="actions">
      <Form c={c} action="/billing/pay">
        <input type="hidden" name="plan_id" value={tx.plan_id ?? ''} />
        <button type="submit">{t(lang, 'pay_try_again')}</button>
      </Form>
      <a class="button secondary" href="/billing#plans-h">
        {t(lang, 'pay_choose_again')}
      </a>
    </div>
  )
}

/**
 * The models a plan opens, as its features' patterns name them (config `features`), for
 * people: dated-snapshot patterns (with #) left out, `*` shown as an ellipsis.
 */
export function planModels(features: Readonly<Record<string, readonly string[]>>, plan: Plan) {
  const names = plan.features.flatMap((feature) => features[feature] ?? [])
  return [...new Set(names.filter((p) => !p.includes('#')).map((p) => p.replaceAll('*', '…')))]
}

function isSpent(usage: { limit: number | null; remaining: number | null }) {
  return usage.limit !== null && usage.remaining === 0
}

/** Settled use as a whole percent of the limit (reservations in flight not counted). */
function percentUsed(usage: { used: number; limit: number | null }): number | null {
  if (usage.limit === null || usage.limit <= 0) return null
  return Math.min(100, Math.floor((usage.used * 100) / usage.limit))
}

/** The next plan up (display order, dearer than the current), else the current paid one. */
function upgradeTarget(view: BillingView): { plan: Plan; extend: boolean } | null {
  const current = view.live?.plan
  const price = current?.price ?? 0
  const up = view.plans.find(
    (p) => p.id !== current?.id && p.id !== view.defaultPlanId && p.price > price,
  )
  if (up) return { plan: up, extend: false }
  if (current && current.id !== view.defaultPlanId && current.price > 0) {
    return { plan: current, extend: true }
  }
  return null
}

function priceLabel(lang: Lang, plan: Plan): string {
  return `${formatMoney(lang, plan.price, plan.currency, true)}${perInterval(lang, plan.interval)}`
}
