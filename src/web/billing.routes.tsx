import { Hono } from 'hono'
import { createApiKey, revokeApiKey } from '../auth/api-keys.service.ts'
import type { Principal } from '../auth/principal.ts'
import { cancelSubscription } from '../billing/subscription-cancel.service.ts'
import { resumeSubscription } from '../billing/subscription-resume.service.ts'
import { ensureLiveSubscription } from '../billing/subscriptions.service.ts'
import type { Deps } from '../deps.ts'
import { asGatewayError, GatewayError } from '../http/errors.ts'
import { readPeriodUsage } from '../ledger/usage.service.ts'
import { createCheckout } from '../payments/checkout.service.ts'
import { createPackCheckout } from '../payments/pack-checkout.service.ts'
import { redeemPromoCode } from '../payments/promo-codes.service.ts'
import { findTransaction } from '../payments/transactions.repo.ts'
import { listCallerTransactions, transactionToJson } from '../payments/transactions.service.ts'
import { takePromoAttempt } from '../routes/billing/promo-codes.ts'
import { createKeyBody } from '../routes/keys/index.ts'
import { loadBillingView } from './billing-view.ts'
import type { WebContext, WebEnv } from './env.ts'
import { t } from './i18n.ts'
import type { MessageKey } from './messages.ts'
import { renderBilling } from './pages/billing.tsx'
import { renderCancelConfirm, renderKeyCreated } from './pages/billing-actions.tsx'
import { renderReturn } from './pages/billing-return.tsx'
import { renderError } from './pages/errors.tsx'

/** Notices a redirect may ask the billing page to show: a fixed list, never text from the URL. */
const NOTICES: Record<string, MessageKey> = {
  canceled_end: 'notice_canceled_end',
  canceled_now: 'notice_canceled_now',
  key_revoked: 'notice_key_revoked',
  promo_applied: 'notice_promo_applied',
  resumed: 'notice_resumed',
}

/**
 * /billing: the payer's page and its forms. Every action calls the service the
 * API route calls (checkout, cancel, keys), so a rule cannot differ between them.
 * Mounted behind loadSignIn, requireViewer and the CSRF check (index.ts).
 */
export function createBillingPages() {
  return new Hono<WebEnv>()
    .get('/', async (c) => {
      const notice = NOTICES[c.req.query('notice') ?? '']
      const view = await loadBillingView(c.get('deps'), viewer(c))
      return renderBilling(c, view, notice && { kind: 'ok', text: t(c.get('lang'), notice) })
    })
    .post('/pay', (c) =>
      checkoutPage(c, (returnUrl, body) =>
        createCheckout(c.get('deps'), viewer(c), { planId: formText(body.plan_id), returnUrl }),
      ),
    )
    .post('/pay-pack', (c) =>
      checkoutPage(c, (returnUrl, body) =>
        createPackCheckout(c.get('deps'), viewer(c), { packId: formText(body.pack_id), returnUrl }),
      ),
    )
    .get('/return', async (c) => {
      const deps = c.get('deps')
      const id = c.req.query('tx')
      if (!id) {
        // YooKassa comes back to the bare URL: the latest payment is the one just made.
        const latest = await latestPayment(deps, viewer(c))
        if (latest) return c.redirect(`/billing/return?tx=${encodeURIComponent(latest)}`, 303)
      }
      const transaction = id ? await ownTransaction(deps, viewer(c), id) : null
      const live = await ensureLiveSubscription(deps, viewer(c).userId)
      const usage = live
        ? await readPeriodUsage(deps.database.db, live.subscription, live.plan)
        : null
      return renderReturn(c, {
        transaction,
        plan: live?.plan ?? null,
        usage,
        periodEnd: live?.subscription.current_period_end ?? null,
      })
    })
    .get('/return/status', async (c) => {
      const transaction = await ownTransaction(c.get('deps'), viewer(c), c.req.query('tx') ?? '')
      if (!transaction) throw new GatewayError('not_found', 'No such transaction')
      c.header('cache-control', 'no-store')
      return c.json({ status: transaction.status })
    })
    .get('/cancel', async (c) => {
      const live = await ensureLiveSubscription(c.get('deps'), viewer(c).userId)
      if (!live) return c.redirect('/billing', 303)
      const sub = live.subscription
      return renderCancelConfirm(c, {
        immediate: c.req.query('when') === 'now',
        plan: live.plan,
        endsAt: sub.paid_until ?? sub.current_period_end,
      })
    })
    .post('/cancel', async (c) => {
      const body = await c.req.parseBody()
      const immediate = body.when === 'now'
      try {
        await cancelSubscription(c.get('deps'), viewer(c).userId, { immediate })
      } catch (thrown) {
        const error = asGatewayError(thrown)
        if (!error) throw thrown
        return renderError(c, error.message, pageStatus(error))
      }
      return c.redirect(`/billing?notice=${immediate ? 'canceled_now' : 'canceled_end'}`, 303)
    })
    .post('/promo', async (c) => {
      const body = await c.req.parseBody()
      const code = typeof body.code === 'string' ? body.code.slice(0, 128) : ''
      try {
        takePromoAttempt(c.get('deps'), c, viewer(c).userId)
        await redeemPromoCode(c.get('deps'), viewer(c), code)
      } catch (thrown) {
        const error = asGatewayError(thrown)
        if (!error) throw thrown
        const view = await loadBillingView(c.get('deps'), viewer(c))
        const status = error.status === 429 ? 429 : pageStatus(error)
        return renderBilling(c, view, { kind: 'error', text: error.message }, status)
      }
      return c.redirect('/billing?notice=promo_applied', 303)
    })
    .post('/resume', async (c) => {
      try {
        await resumeSubscription(c.get('deps'), viewer(c).userId)
      } catch (thrown) {
        const error = asGatewayError(thrown)
        if (!error) throw thrown
        return renderError(c, error.message, pageStatus(error))
      }
      return c.redirect('/billing?notice=resumed', 303)
    })
    .post('/keys', async (c) => {
      const body = await c.req.parseBody()
      const parsed = createKeyBody.pick({ name: true }).safeParse({ name: body.name })
      if (!parsed.success) {
        return renderError(c, `${t(c.get('lang'), 'key_name')}: 1–100`, 400)
      }
      const created = await createApiKey(c.get('deps'), viewer(c), { name: parsed.data.name })
      return renderKeyCreated(c, created)
    })
    .post('/keys/:id/revoke', async (c) => {
      const revoked = await revokeApiKey(c.get('deps'), viewer(c).userId, c.req.param('id'))
      if (!revoked) return renderError(c, 'No such API key', 404)
      return c.redirect('/billing?notice=key_revoked', 303)
    })
}

function viewer(c: WebContext): Principal {
  return c.get('viewer')!
}

/** The origin YooKassa sends the payer back to: PUBLIC_URL, else the host this page was asked on. */
function ownOrigin(c: WebContext): string {
  const publicUrl = c.get('deps').config.server.publicUrl
  return publicUrl ? new URL(publicUrl).origin : new URL(c.req.url).origin
}

/** The viewer's own transaction by id, as the API shows it; someone else's is not found. */
async function ownTransaction(deps: Pick<Deps, 'database'>, principal: Principal, id: string) {
  const row = id ? await findTransaction(deps.database.db, id) : undefined
  return row && row.user_id === principal.userId ? transactionToJson(row) : null
}

async function latestPayment(deps: Pick<Deps, 'database'>, principal: Principal) {
  const { data } = await listCallerTransactions(deps, principal, { limit: 20 })
  return data.find((tx) => tx.kind === 'payment')?.id
}

export function pageStatus(error: GatewayError): 400 | 404 | 409 | 500 | 502 | 503 {
  const allowed = [400, 404, 409, 500, 502, 503] as const
  return allowed.find((s) => s === error.status) ?? (error.status < 500 ? 400 : 500)
}

const formText = (value: unknown) => (typeof value === 'string' ? value : '')

/**
 * A checkout from a form on /billing, of a plan or of a pack: on to YooKassa's
 * confirmation page (or the return page when there is none), or the reason on an error page.
 */
async function checkoutPage(
  c: WebContext,
  create: (
    returnUrl: string,
    body: Record<string, unknown>,
  ) => Promise<{ confirmation_url?: string | null; transaction_id: string }>,
) {
  const body = await c.req.parseBody()
  try {
    const checkout = await create(`${ownOrigin(c)}/billing/return`, body)
    if (checkout.confirmation_url) return c.redirect(checkout.confirmation_url, 303)
    return c.redirect(`/billing/return?tx=${encodeURIComponent(checkout.transaction_id)}`, 303)
  } catch (thrown) {
    const error = asGatewayError(thrown)
    if (!error) throw thrown
    return renderError(
      c,
      t(c.get('lang'), 'pay_failed', { reason: error.message }),
      pageStatus(error),
    )
  }
}
