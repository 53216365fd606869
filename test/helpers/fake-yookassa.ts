import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { createPaymentsStore } from '../../src/demo/yookassa/payments-store.ts'
import { type Json, precheck } from '../../src/demo/yookassa/wire.ts'

/**
 * A fake YooKassa API v3 on 127.0.0.1, written from docs/reference/yookassa.md:
 * Basic auth and the simulated shop's state (payments, capture/cancel,
 * refunds, saved methods and Idempotence-Key replays, shared with the demo's
 * sandbox in src/demo/yookassa/payments-store.ts), plus what only tests need:
 * notifications sent to a URL (duplicated, stale, forged...), every request
 * recorded, and failures or stalls of the next calls on demand.
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
  const store = createPaymentsStore({
    shopId,
    test: options.test ?? false,
    refundOutcome: options.refundOutcome,
    confirmationUrl: (id) => `https://yoomoney.ru/checkout/payments/v2/contract?orderId=${id}`,
  })
  const requests: RecordedRequest[] = []
  const rules: Rule[] = []
  const hanging = new Set<ServerResponse>()

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

    const checked = precheck({
      method,
      authorization: req.headers.authorization,
      expected: { shopId, secretKey },
      raw,
      key,
    })
    body = checked.body
    if (checked.refused) return send(checked.refused.status, checked.refused.body)

    const rule = rules.find(
      (r) =>
        r.remaining > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)),
    )
    if (rule) rule.remaining--
    if (rule && !rule.afterProcessing) return fail(rule)

    const result = store.call(method, path, key, body)
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

  return {
    url: `http://127.0.0.1:${port}/v3`,
    shopId,
    secretKey,
    requests,
    payments: store.payments,
    refunds: store.refunds,
    pay: store.pay,
    cancel: store.cancel,
    patch: store.patch,
    payment: store.payment,
    history: store.history,
    setChargeOutcome: store.setChargeOutcome,
    saveMethod: store.saveMethod,
    setRefundOutcome: store.setRefundOutcome,
    completeRefund: store.completeRefund,
    notification: store.notification,
    /** The next `count` calls matching method/path fail as described. */
    fail(match: { method?: string; path?: RegExp }, failure: Failure = {}) {
      rules.push({ ...match, ...failure, remaining: failure.count ?? 1 })
    },
    clearFailures() {
      rules.length = 0
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
