import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import {
  canonical,
  card,
  cents,
  error,
  type Json,
  MONEY,
  money,
  publicView,
  succeed,
  validatePaymentBody,
} from './fake-yookassa.objects.ts'

/**
 * A fake YooKassa API v3 on 127.0.0.1, written from reference/yookassa.md:
 * Basic auth, Idempotence-Key semantics (same key + same body replays the
 * first answer, same key + other body is 400), payments and their status
 * moves, capture/cancel, refunds, saved payment methods for recurring
 * charges, and notifications sent to a URL (duplicated, stale, forged...).
 * Tests steer it: pay or cancel a payment, fail or stall the next calls.
 */

export interface RecordedRequest {
  method: string
  path: string
  idempotenceKey: string | undefined
  body: Json | undefined
  status: number
}

export interface Failure {
  status?: number
  /** How many matching calls fail; default 1. */
  count?: number
  retryAfterMs?: number
  /** Process the call (and remember it under its key) but answer `status` or nothing. */
  afterProcessing?: boolean
  /** Never answer (the caller times out). */
  hang?: boolean
  /** Drop the connection without an answer. */
  reset?: boolean
}

interface Rule extends Failure {
  method?: string
  path?: RegExp
  remaining: number
}

export interface FakeYooKassaOptions {
  shopId?: string
  secretKey?: string
  /** Objects carry `test: true`, as in a test shop. */
  test?: boolean
  /** Refunds finish at once (succeeded) or stay pending until completeRefund(). */
  refundOutcome?: 'succeeded' | 'pending'
}

export type FakeYooKassa = Awaited<ReturnType<typeof startFakeYooKassa>>

export async function startFakeYooKassa(options: FakeYooKassaOptions = {}) {
  const shopId = options.shopId ?? '100500'
  const secretKey = options.secretKey ?? 'test_secret_key_fake'
  const payments = new Map<string, Json>()
  /** Every state a payment went through, oldest first: stale notifications replay these. */
  const history = new Map<string, Json[]>()
  const refunds = new Map<string, Json>()
  const keys = new Map<string, { fingerprint: string; status: number; body: Json }>()
  /** Saved payment methods: id -> outcome of the next merchant-initiated charge. */
  const savedMethods = new Map<string, 'succeeded' | { reason: string }>()
  const requests: RecordedRequest[] = []
  const rules: Rule[] = []
  const hanging = new Set<ServerResponse>()
  let refundOutcome = options.refundOutcome ?? 'succeeded'
  const now = () => new Date().toISOString()

  function remember(payment: Json) {
    payments.set(payment.id, payment)
    const list = history.get(payment.id) ?? []
    list.push(structuredClone(payment))
    history.set(payment.id, list)
    return payment
  }

  function createPayment(body: Json): { status: number; body: Json } {
    const amount = body.amount
    const invalid = validatePaymentBody(body)
    if (invalid) return invalid
    const base: Json = {
      id: randomUUID(),
      status: 'pending',
      paid: false,
      amount,
      description: body.description,
      metadata: body.metadata ?? {},
      recipient: { account_id: shopId, gateway_id: '1000001' },
      created_at: now(),
      test: options.test ?? false,
      refundable: false,
      refunded_amount: { value: '0.00', currency: amount.currency },
      capture: body.capture === true,
      save_payment_method: body.save_payment_method === true,
    }
    if (body.payment_method_id) {
      if (body.confirmation) {
        return error(
          400,
          'invalid_request',
          'Confirmation must be null when using payment_method_id',
        )
      }
      const outcome = savedMethods.get(body.payment_method_id)
      if (!outcome) return error(400, 'invalid_request', 'Payment method is not saved')
      base.payment_method = card(body.payment_method_id, true)
      if (outcome === 'succeeded')
        return { status: 200, body: publicView(remember(succeed(base, now()))) }
      base.status = 'canceled'
      base.cancellation_details = { party: 'payment_network', reason: outcome.reason }
      return { status: 200, body: publicView(remember(base)) }
    }
    base.confirmation = {
      type: 'redirect',
      return_url: body.confirmation?.return_url,
      confirmation_url: `https://yoomoney.ru/checkout/payments/v2/contract?orderId=${base.id}`,
    }
    return { status: 200, body: publicView(remember(base)) }
  }

  function route(method: string, path: string, body: Json | undefined) {
    const one = /^\/payments\/([^/]+)$/.exec(path)
    const action = /^\/payments\/([^/]+)\/(capture|cancel)$/.exec(path)
    const refundPath = /^\/refunds\/([^/]+)$/.exec(path)
    if (method === 'GET' && path === '/me') {
      return {
        status: 200,
        body: { account_id: shopId, status: 'enabled', test: options.test ?? false },
      }
    }
    if (method === 'POST' && path === '/payments') return createPayment(body ?? {})
    if (one && method === 'GET') {
      const payment = payments.get(decodeURIComponent(one[1]!))
      return payment
        ? { status: 200, body: publicView(payment) }
        : error(404, 'not_found', 'Payment not found or forbidden')
    }
    if (action && method === 'POST') {
      const payment = payments.get(decodeURIComponent(action[1]!))
      if (!payment) return error(404, 'not_found', 'Payment not found or forbidden')
      if (payment.status !== 'waiting_for_capture') {
        return error(400, 'invalid_request', `Payment is in ${payment.status} status`)
      }
      if (action[2] === 'capture') {
        if (body?.amount) payment.amount = body.amount
        return { status: 200, body: publicView(remember(succeed(payment, now()))) }
      }
      payment.status = 'canceled'
      payment.cancellation_details = { party: 'merchant', reason: 'canceled_by_merchant' }
      return { status: 200, body: publicView(remember(payment)) }
    }
    if (method === 'POST' && path === '/refunds') return createRefund(body ?? {})
    if (refundPath && method === 'GET') {
      const refund = refunds.get(decodeURIComponent(refundPath[1]!))
      return refund
        ? { status: 200, body: structuredClone(refund) }
        : error(404, 'not_found', 'Refund not found')
    }
    return error(404, 'not_found', `No route ${method} ${path}`)
  }

  function createRefund(body: Json) {
    const payment = payments.get(body.payment_id)
    if (!payment) return error(404, 'not_found', 'Payment not found or forbidden', 'payment_id')
    if (!body.amount || !MONEY.test(body.amount.value ?? '')) {
      return error(400, 'invalid_request', 'Error in the refund amount', 'amount')
    }
    const left = cents(payment.amount.value) - cents(payment.refunded_amount.value)
    if (payment.status !== 'succeeded' || cents(body.amount.value) > left) {
      return error(400, 'invalid_request', 'Refund amount exceeds the payment amount', 'amount')
    }
    const refund: Json = {
      id: randomUUID(),
      payment_id: payment.id,
      status: refundOutcome,
      amount: body.amount,
      description: body.description,
      metadata: body.metadata,
      created_at: now(),
    }
    refunds.set(refund.id, refund)
    if (refundOutcome === 'succeeded') applyRefund(refund)
    return { status: 200, body: structuredClone(refund) }
  }

  function applyRefund(refund: Json) {
    const payment = payments.get(refund.payment_id)!
    const total = cents(payment.refunded_amount.value) + cents(refund.amount.value)
    payment.refunded_amount = { value: money(total), currency: payment.amount.currency }
    remember(payment)
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    const path = url.pathname.replace(/^\/v3/, '')
    const method = req.method ?? 'GET'
    const key = req.headers['idempotence-key'] as string | undefined
    let body: Json | undefined
    const record = (status: number) =>
      requests.push({ method, path, idempotenceKey: key, body, status })
    const send = (status: number, payload: Json) => {
      record(status)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload))
    }

    const expected = `Basic ${Buffer.from(`${shopId}:${secretKey}`).toString('base64')}`
    if (req.headers.authorization !== expected) {
      return send(401, error(401, 'invalid_credentials', 'Authentication error').body)
    }
    if (method === 'POST') {
      try {
        body = raw ? JSON.parse(raw) : {}
      } catch {
        return send(400, error(400, 'invalid_request', 'Failed to parse request body').body)
      }
      if (!key) return send(400, error(400, 'invalid_request', 'Idempotence key is empty').body)
      if (key.length > 64) {
        return send(400, error(400, 'invalid_request', 'Idempotence key is too long').body)
      }
    }

    const rule = rules.find(
      (r) =>
        r.remaining > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)),
    )
    if (rule) rule.remaining--
    if (rule && !rule.afterProcessing) return fail(rule)

    let result: { status: number; body: Json }
    const fingerprint = `${method} ${path} ${canonical(body)}`
    const seen = key ? keys.get(key) : undefined
    if (method === 'POST' && seen) {
      result =
        seen.fingerprint === fingerprint
          ? { status: seen.status, body: seen.body }
          : error(400, 'invalid_request', 'Idempotence key duplicated', 'Idempotence-Key')
    } else {
      result = route(method, path, body)
      if (method === 'POST' && key) keys.set(key, { fingerprint, ...result })
    }
    if (rule) return fail(rule)
    send(result.status, result.body)

    function fail(r: Rule) {
      if (r.hang) {
        record(0)
        hanging.add(res)
        return
      }
      if (r.reset) {
        record(0)
        req.socket.destroy()
        return
      }
      const status = r.status ?? 500
      send(status, {
        type: 'error',
        id: randomUUID(),
        code: status === 202 ? 'processing' : 'internal_server_error',
        ...(r.retryAfterMs !== undefined ? { retry_after: r.retryAfterMs } : {}),
      })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500).end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  function get(id: string): Json {
    const payment = payments.get(id)
    if (!payment) throw new Error(`fake YooKassa: no payment ${id}`)
    return payment
  }

  return {
    url: `http://127.0.0.1:${port}/v3`,
    shopId,
    secretKey,
    requests,
    payments,
    refunds,
    /** The payer confirms: succeeded (capture: true) or waiting_for_capture; saves the card if asked. */
    pay(id: string, opts: { save?: boolean } = {}): Json {
      const payment = get(id)
      const saved = opts.save ?? payment.save_payment_method
      const methodId = `2d${randomUUID().slice(2)}`
      payment.payment_method = card(methodId, saved)
      if (saved) savedMethods.set(methodId, 'succeeded')
      if (payment.capture) succeed(payment, now())
      else {
        payment.status = 'waiting_for_capture'
        payment.paid = true
        delete payment.confirmation
      }
      return publicView(remember(payment))
    },
    /** The payment is canceled by YooKassa or the bank (expired link, declined card...). */
    cancel(id: string, reason = 'expired_on_confirmation', party = 'yoo_money'): Json {
      const payment = get(id)
      payment.status = 'canceled'
      payment.paid = false
      payment.cancellation_details = { party, reason }
      delete payment.confirmation
      return publicView(remember(payment))
    },
    /** Changes a stored payment behind the gateway's back (amount, test flag, recipient...). */
    patch(id: string, fields: Json): Json {
      return publicView(remember(Object.assign(get(id), fields)))
    },
    payment: (id: string) => publicView(get(id)),
    /** States the payment went through, oldest first. */
    history: (id: string) => (history.get(id) ?? []).map(publicView),
    /** Outcome of the next merchant-initiated charges with this saved method. */
    setChargeOutcome(methodId: string, outcome: 'succeeded' | { reason: string }) {
      savedMethods.set(methodId, outcome)
    },
    saveMethod(methodId: string) {
      savedMethods.set(methodId, 'succeeded')
    },
    setRefundOutcome(outcome: 'succeeded' | 'pending') {
      refundOutcome = outcome
    },
    completeRefund(id: string, status: 'succeeded' | 'canceled') {
      const refund = refunds.get(id)!
      refund.status = status
      if (status === 'succeeded') applyRefund(refund)
      else refund.cancellation_details = { party: 'refund_network', reason: 'rejected_by_payee' }
      return structuredClone(refund)
    },
    /** The next `count` calls matching method/path fail as described. */
    fail(match: { method?: string; path?: RegExp }, failure: Failure = {}) {
      rules.push({ ...match, ...failure, remaining: failure.count ?? 1 })
    },
    clearFailures() {
      rules.length = 0
    },
    /** A notification body for an object as it is now, or for one of its past states. */
    notification(event: string, id: string, state?: Json): Json {
      const object = state ?? (payments.has(id) ? publicView(get(id)) : refunds.get(id))
      return { type: 'notification', event, object }
    },
    /** POSTs a notification (or any body) to the gateway, as YooKassa's sender does. */
    async notify(target: string, body: Json | string, headers: Record<string, string> = {}) {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      const response = await request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: text,
      })
      const answer = await response.body.text()
      return { status: response.statusCode, body: answer }
    },
    requestsTo(method: string, path: RegExp) {
      return requests.filter((r) => r.method === method && path.test(r.path))
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The environment a gateway needs to talk to this fake and accept its notifications. */
export function yookassaEnv(fake: { shopId: string; secretKey: string; url: string }) {
  return {
    YOOKASSA_SHOP_ID: fake.shopId,
    YOOKASSA_SECRET_KEY: fake.secretKey,
    YOOKASSA_API_URL: fake.url,
    // The fake notifies from loopback; production keeps YooKassa's published ranges.
    YOOKASSA_TRUSTED_IPS: '127.0.0.1/32,::1/128',
    BILLING_RETURN_HOSTS: 'app.example',
  }
}

export const WEBHOOK_PATH = '/api/v1/billing/webhook/yookassa'
