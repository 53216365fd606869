import { afterEach, beforeEach, expect } from 'vitest'
import type { Json } from '../../src/demo/yookassa/wire.ts'
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.ts'
import {
  type FakeYooKassa,
  type FakeYooKassaOptions,
  startFakeYooKassa,
  WEBHOOK_PATH,
  yookassaEnv,
} from './fake-yookassa.ts'
import { createHarness, type Harness, type HarnessOptions } from './harness.ts'

/**
 * The payments' test setting: a fake YooKassa, the real gateway configured for it
 * (yookassaEnv) and listening on a socket, optionally a fake LLM upstream, and the
 * checkout steps most payment tests begin with.
 *
 *   const f = usePaymentsFixture({ config: { yookassa: { autoRenew: true } } })
 *   const { transaction_id, payment_id } = await f.paidCheckout('u1')
 *   await f.deliver('payment.succeeded', payment_id)
 */
export interface PaymentsFixtureOptions {
  /** Merged over yookassaEnv(fake) (and the upstream's variables). */
  env?: Record<string, string>
  config?: HarnessOptions['config']
  fake?: FakeYooKassaOptions
  /** Also start a fake LLM upstream and point the gateway at it. */
  upstream?: boolean
}

/** What POST /api/v1/billing/payment answers on success. */
export interface Checkout {
  transaction_id: string
  payment_id: string
}

/** The checkout every test buys: pro, back to the allowed return host. */
export const CHECKOUT_BODY = { plan_id: 'pro', return_url: 'https://app.example/r' }

/** The checkout over a real socket, for gateways run as processes (no harness). */
export function postCheckout(base: string, token: string): Promise<Response> {
  return fetch(`${base}/api/v1/billing/payment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(CHECKOUT_BODY),
  })
}

/** Extra claims of the buyer's token (receipts need an email). */
export type BuyerClaims = { email?: string }

export interface PaymentsFixture {
  fake: FakeYooKassa
  h: Harness
  /** The gateway's base URL; notifications go to base + WEBHOOK_PATH. */
  base: string
  upstream: FakeUpstream | undefined
  /** A second gateway on the same database, clock, fake and configuration; closed with the fixture. */
  replica(): Promise<Harness>
  /** POSTs the pro checkout as `user`; no assertion (the answer may be an error). */
  startCheckout(user?: string, claims?: BuyerClaims): Promise<{ status: number; body: Checkout }>
  /** The checkout, asserted 201. */
  checkout(user?: string, claims?: BuyerClaims): Promise<Checkout>
  /** The checkout, then the fake marks the payment paid (no notification yet). */
  paidCheckout(user?: string, claims?: BuyerClaims): Promise<Checkout>
  /** The paid checkout, then payment.succeeded delivered and answered 200: the user is on pro. */
  creditedCheckout(user?: string, claims?: BuyerClaims): Promise<Checkout>
  /** The fake notifies `event` for the object (as it is now, or as `state`) to this gateway. */
  deliver(event: string, id: string, state?: Json): Promise<{ status: number; body: string }>
  /** `times` chat completions as `user` through the gateway (needs `upstream`), each asserted 200. */
  chat(user: string, times?: number, claims?: BuyerClaims): Promise<void>
  close(): Promise<void>
}

export async function createPaymentsFixture(
  options: PaymentsFixtureOptions = {},
): Promise<PaymentsFixture> {
  const fake = await startFakeYooKassa(options.fake)
  const upstream = options.upstream ? await startFakeUpstream() : undefined
  const harnessOptions: HarnessOptions = {
    env: {
      ...yookassaEnv(fake),
      ...(upstream && { UPSTREAM_BASE_URL: upstream.url, UPSTREAM_API_KEY: 'sk-up' }),
      ...options.env,
    },
    config: options.config,
  }
  const h = await createHarness(harnessOptions)
  const base = await h.listen()
  const replicas: Harness[] = []

  const fixture: PaymentsFixture = {
    fake,
    h,
    base,
    upstream,
    async replica() {
      const replica = await createHarness({ ...harnessOptions, shareDatabaseWith: h })
      replicas.push(replica)
      return replica
    },
    async startCheckout(user = 'u1', claims = {}) {
      const res = await h.json(
        'POST',
        '/api/v1/billing/payment',
        CHECKOUT_BODY,
        await h.token({ sub: user, ...claims }),
      )
      return { status: res.status, body: (await res.json()) as Checkout }
    },
    async checkout(user, claims) {
      const { status, body } = await fixture.startCheckout(user, claims)
      expect(status, JSON.stringify(body)).toBe(201)
      return body
    },
    async paidCheckout(user, claims) {
      const body = await fixture.checkout(user, claims)
      fake.pay(body.payment_id)
      return body
    },
    async creditedCheckout(user, claims) {
      const body = await fixture.paidCheckout(user, claims)
      const note = await fixture.deliver('payment.succeeded', body.payment_id)
      expect(note.status, note.body).toBe(200)
      return body
    },
    deliver: (event, id, state) =>
      fake.notify(base + WEBHOOK_PATH, fake.notification(event, id, state)),
    async chat(user, times = 1, claims = {}) {
      const token = await h.token({ sub: user, ...claims })
      for (let i = 0; i < times; i++) {
        const res = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'gpt-3.5-turbo',
            messages: [{ role: 'user', content: 'hi' }],
          }),
        })
        expect(res.status, await res.text()).toBe(200)
      }
    },
    async close() {
      // Replicas share the main harness's database: they go first, the database last.
      for (const replica of replicas.splice(0).reverse()) await replica.close()
      await h.close()
      await fake.close()
      await upstream?.close()
    },
  }
  return fixture
}

/**
 * Registers beforeEach/afterEach hooks that give every test of the file a fresh
 * fixture, and returns a handle that reads the current one. Read it inside tests
 * and hooks only: between tests there is none.
 */
export function usePaymentsFixture(options: PaymentsFixtureOptions = {}): PaymentsFixture {
  const opened = usePaymentsFixtureOnDemand()
  beforeEach(() => opened.start(options))
  return opened
}

/** A fixture each test starts itself, with its own options, and an afterEach that closes it. */
export interface PaymentsFixtureOnDemand extends PaymentsFixture {
  start(options?: PaymentsFixtureOptions): Promise<void>
}

/**
 * For files whose tests each choose their settings: `await f.start({ env })` as
 * a test's first step, closed after it. Read the handle after start() only.
 */
export function usePaymentsFixtureOnDemand(): PaymentsFixtureOnDemand {
  let current: PaymentsFixture | undefined
  afterEach(async () => {
    await current?.close()
    current = undefined
  })
  const start = async (options: PaymentsFixtureOptions = {}) => {
    current = await createPaymentsFixture(options)
  }
  return new Proxy({ start } as PaymentsFixtureOnDemand, {
    get(target, key) {
      if (key === 'start') return target.start
      if (!current) throw new Error(`payments fixture read outside a test (${String(key)})`)
      return current[key as keyof PaymentsFixture]
    },
  })
}
