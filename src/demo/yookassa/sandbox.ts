import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import type { Logger } from '../../lib/logger.ts'
import { checkoutPage } from './checkout-page.ts'
import { createNotifier } from './notifier.ts'
import { createPaymentsStore } from './payments-store.ts'
import { type Json, precheck } from './wire.ts'

/**
 * The demo's YooKassa: the subset of API v3 the gateway calls (POST /payments
 * with Idempotence-Key, GET /payments/{id}, capture, cancel, refunds, GET /me
 * of a test shop) over the same simulated shop as the tests' fake, plus a
 * checkout page at each payment's confirmation_url whose "Pay" and "Decline"
 * move the payment and send the notifications YooKassa sends
 * (payment.waiting_for_capture, payment.succeeded, payment.canceled,
 * refund.succeeded) to the gateway's ordinary, verified webhook. Only
 * src/demo/main.ts starts it.
 */
export interface SandboxOptions {
  shopId: string
  secretKey: string
  /** 0 picks a free port. */
  port: number
  logger: Logger
  /**
   * A checkout left on its payment page this long is canceled (expired_on_confirmation) and
   * notified, as YooKassa does with an abandoned confirmation (about an hour there; 15 minutes
   * here, so a demo shows it). Checked every minute.
   */
  expirePendingAfterMs?: number
}

/** How often the sandbox looks for abandoned checkouts. */
const EXPIRY_SWEEP_MS = 60_000

export type Sandbox = Awaited<ReturnType<typeof startYooKassaSandbox>>

export async function startYooKassaSandbox(options: SandboxOptions) {
  const { shopId, secretKey, logger } = options
  let origin = ''
  const store = createPaymentsStore({
    shopId,
    test: true,
    confirmationUrl: (id) => `${origin}/checkout/${id}`,
  })
  const notifier = createNotifier(logger)
  /** A replayed refund call answers the same refund: it is notified once. */
  const refundsNotified = new Set<string>()
  const app = new Hono()

  app.all('/v3/*', async (c) => {
    const method = c.req.method
    const path = c.req.path.replace(/^\/v3/, '')
    const key = c.req.header('idempotence-key')
    const checked = precheck({
      method,
      authorization: c.req.header('authorization'),
      expected: { shopId, secretKey },
      raw: method === 'POST' ? await c.req.text() : '',
      key,
    })
    if (checked.refused) return c.json(checked.refused.body, checked.refused.status as 400)
    const body = checked.body
    const before = method === 'POST' ? statusOf(path) : undefined
    const answer = store.call(method, path, key, body)
    if (answer.status === 200) notifyChange(path, before, answer.body)
    return c.json(answer.body, answer.status as 200)
  })

  app.get('/checkout/:id', (c) => {
    const payment = store.find(c.req.param('id'))
    if (!payment) return c.text('No such payment in the sandbox', 404)
    return c.html(checkoutPage(store.payment(payment.id)))
  })
  app.post('/checkout/:id/pay', (c) => confirm(c, 'pay'))
  app.post('/checkout/:id/decline', (c) => confirm(c, 'decline'))

  /** The payer's choice: move the payment, notify the gateway, send the payer back. */
  async function confirm(c: Context, choice: 'pay' | 'decline') {
    const payment = store.find(c.req.param('id') ?? '')
    if (!payment) return c.text('No such payment in the sandbox', 404)
    if (payment.status !== 'pending') return c.html(checkoutPage(store.payment(payment.id)), 409)
    const returnUrl: string | undefined = payment.confirmation?.return_url
    // A declined card: the bank refuses, as YooKassa reports it (docs/reference/yookassa.md, cancellation reasons).
    const moved =
      choice === 'pay'
        ? store.pay(payment.id)
        : store.cancel(payment.id, 'insufficient_funds', 'payment_network')
    logger.info(
      { paymentId: payment.id, status: moved.status },
      `sandbox payer chose ${choice === 'pay' ? 'Pay' : 'Decline'}`,
    )
    await notifier.send(store.notification(`payment.${moved.status}`, payment.id))
    return returnUrl ? c.redirect(returnUrl, 303) : c.html(checkoutPage(moved))
  }

  function statusOf(path: string): string | undefined {
    const id = /^\/payments\/([^/]+)\/(capture|cancel)$/.exec(path)?.[1]
    return id ? store.find(decodeURIComponent(id))?.status : undefined
  }

  /**
   * Changes the gateway asked for by API are notified too, as YooKassa does; not awaited, since
   * YooKassa answers the call first and notifies on its own schedule.
   */
  function notifyChange(path: string, before: string | undefined, object: Json) {
    if (/^\/payments\/[^/]+\/(capture|cancel)$/.test(path) && before !== object.status) {
      void notifier.send(store.notification(`payment.${object.status}`, object.id))
    }
    if (path === '/refunds' && object.status === 'succeeded' && !refundsNotified.has(object.id)) {
      refundsNotified.add(object.id)
      void notifier.send({ type: 'notification', event: 'refund.succeeded', object })
    }
  }

  const expireAfterMs = options.expirePendingAfterMs ?? 15 * 60_000
  /** Cancels the checkouts pending for longer than expireAfterMs; answers how many. */
  async function expireAbandoned(nowMs = Date.now()): Promise<number> {
    let expired = 0
    for (const payment of store.payments.values()) {
      if (payment.status !== 'pending' || !payment.confirmation) continue
      if (nowMs - Date.parse(payment.created_at) < expireAfterMs) continue
      const moved = store.cancel(payment.id, 'expired_on_confirmation', 'yoo_money')
      logger.info({ paymentId: payment.id }, 'sandbox payment expired unpaid')
      await notifier.send(store.notification(`payment.${moved.status}`, payment.id))
      expired++
    }
    return expired
  }
  const sweep = setInterval(() => void expireAbandoned(), EXPIRY_SWEEP_MS)
  sweep.unref()

  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port }, () =>
      resolve(started as Server),
    )
  })
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    apiUrl: `${origin}/v3`,
    /** The gateway's webhook (with its ?secret=, the form YooKassa's cabinet URL takes). */
    setWebhookUrl: notifier.setTarget,
    expireAbandoned,
    async close() {
      clearInterval(sweep)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
