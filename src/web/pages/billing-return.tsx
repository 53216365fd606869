import type { Plan } from '../../billing/plan.ts'
import { METRICS } from '../../ledger/amounts.ts'
import type { MetricUsage } from '../../ledger/usage.service.ts'
import { type TxJson, UsageMeter } from '../components.tsx'
import { declineReason } from '../decline-reasons.ts'
import type { WebContext } from '../env.ts'
import { planName, t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import { PendingActions, TryAgain } from './billing-next-step.tsx'

export interface ReturnView {
  transaction: TxJson | null
  /** The viewer's plan and usage now: the new quota once the payment is credited. */
  plan: Plan | null
  usage: Record<(typeof METRICS)[number], MetricUsage> | null
  periodEnd: number | null
}

/** Pending until the gateway has really credited the payment; never trusts the URL's word. */
export function renderReturn(c: WebContext, view: ReturnView) {
  const lang = c.get('lang')
  const tx = view.transaction
  const pending = tx !== null && (tx.status === 'pending' || tx.status === 'waiting_for_capture')
  const poll = tx ? `/billing/return/status?tx=${encodeURIComponent(tx.id)}` : undefined
  let message: string
  let kind = 'notice'
  if (!tx) message = t(lang, 'return_none')
  else if (pending) {
    message = t(lang, 'return_pending')
    kind = 'notice pending'
  } else if (tx.status === 'succeeded') {
    message = t(lang, 'return_succeeded', { plan: view.plan ? planName(lang, view.plan) : '' })
  } else if (tx.status === 'refunded') message = t(lang, 'return_refunded')
  else {
    // Declined or expired: the reason YooKassa gave, in the payer's words, and a way on.
    message = `${t(lang, 'return_canceled')} ${declineReason(lang, tx.cancellation_reason)}.`
    kind = 'notice error'
  }
  return renderPage(
    c,
    t(lang, 'return_title'),
    <>
      <div data-poll={pending ? poll : undefined} data-status={tx?.status}>
        <p class={kind} role="status" data-testid="payment-status" data-status={tx?.status}>
          {message}
        </p>
      </div>
      {tx && pending && <PendingActions lang={lang} tx={tx} />}
      {tx?.status === 'canceled' && tx.kind !== 'refund' && <TryAgain c={c} tx={tx} />}
      {tx?.status === 'succeeded' && view.usage && view.periodEnd !== null && (
        <section class="card" aria-labelledby="quota-h">
          <h2 id="quota-h">{t(lang, 'new_quota')}</h2>
          {METRICS.map((metric) => (
            <UsageMeter
              lang={lang}
              metric={metric}
              usage={view.usage![metric]}
              resetsAt={view.periodEnd!}
            />
          ))}
        </section>
      )}
      <p>
        <a href="/billing">{t(lang, 'back_to_billing')}</a>
      </p>
    </>,
    // Without JavaScript the page still moves on: it reloads itself while pending.
    {
      head: pending ? (
        <noscript>
          <meta http-equiv="refresh" content="5" />
        </noscript>
      ) : undefined,
    },
  )
}
