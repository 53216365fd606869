import OpenAI from 'openai'
import { expect } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { Metric } from '../../src/ledger/amounts.ts'
import { byMetric, COUNTER_COLUMNS } from './counters.ts'
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.ts'
import { createHarness, type Harness, type HarnessOptions } from './harness.ts'
import { perMetric } from './usage-rows.ts'

/**
 * The proxy's test setting: a fake upstream, the real gateway listening on a
 * socket with every user on one test plan (default plan `test`), an openai SDK
 * client per user, and probes into the ledger.
 */
export const UPSTREAM_KEY = 'sk-upstream-secret-0123456789'

export type PlanInput = NonNullable<GatewayConfigInput['plans']>[number]

export interface ProxyFixture {
  h: Harness
  upstream: FakeUpstream
  /** The gateway's base URL (no /v1). */
  base: string
  /** The user's JWT (the same one every call). */
  token(userId: string): Promise<string>
  client(userId: string, options?: { maxRetries?: number; timeout?: number }): Promise<OpenAI>
  /** A raw fetch to the listening gateway with the user's token. */
  fetch(userId: string, path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  ledger(userId: string): Promise<Ledger>
  /** Polls until nothing is reserved for the user (settlement after a disconnect is asynchronous). */
  settled(userId: string, timeoutMs?: number): Promise<Ledger>
  close(): Promise<void>
}

export interface Ledger {
  used: Record<Metric, number>
  reserved: Record<Metric, number>
  reservations: number
  usage: Array<{
    metric: string
    amount: number
    estimated: number
    model_id: string | null
    chat_id: string | null
    request_id: string | null
  }>
}

export async function startProxyFixture(
  options: {
    plan?: Partial<PlanInput>
    config?: Partial<GatewayConfigInput>
    harness?: HarnessOptions
  } = {},
): Promise<ProxyFixture> {
  const upstream = await startFakeUpstream()
  const plan: PlanInput = {
    id: 'test',
    name: 'Test',
    price: 0,
    quotas: { requests: 1000, tokens_input: 1_000_000, tokens_output: 1_000_000 },
    features: ['gpt4_access', 'gpt35_access', 'embeddings_access'],
    ...options.plan,
  }
  const h = await createHarness({
    ...options.harness,
    env: {
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      ...options.harness?.env,
    },
    config: { plans: [plan], billing: { defaultPlanId: 'test' }, ...options.config },
  })
  const base = await h.listen()
  const tokens = new Map<string, string>()
  const token = async (userId: string) => {
    if (!tokens.has(userId)) tokens.set(userId, await h.token({ sub: userId }))
    return tokens.get(userId)!
  }

  const ledger = async (userId: string): Promise<Ledger> => {
    // The proxy answers before its settle lands (src/pipeline/settle/settle.ts): read after it.
    await h.deps.pendingSettles.idle(5_000)
    const subs = await h.db
      .selectFrom('billing_subscription')
      .select('id')
      .where('user_id', '=', userId)
      .execute()
    const ids = subs.map((s) => s.id)
    const zero = () => ({ requests: 0, tokens_input: 0, tokens_output: 0 })
    const result: Ledger = { used: zero(), reserved: zero(), reservations: 0, usage: [] }
    if (ids.length === 0) return result
    const counters = await h.db
      .selectFrom('billing_quota_counter')
      .select(COUNTER_COLUMNS)
      .where('subscription_id', 'in', ids)
      .execute()
    for (const row of byMetric(counters)) {
      result.used[row.metric] += Number(row.used)
      result.reserved[row.metric] += Number(row.reserved)
    }
    const reservations = await h.db
      .selectFrom('billing_reservation')
      .select('request_id')
      .where('user_id', '=', userId)
      .execute()
    result.reservations = reservations.length
    result.usage = perMetric(
      await h.db.selectFrom('billing_usage').selectAll().where('user_id', '=', userId).execute(),
    ).map(({ metric, amount, estimated, model_id, chat_id, request_id }) => ({
      ...{ metric, amount, estimated, model_id, chat_id, request_id },
    }))
    return result
  }

  return {
    h,
    upstream,
    base,
    token,
    client: async (userId, clientOptions = {}) =>
      new OpenAI({ baseURL: `${base}/v1`, apiKey: await token(userId), ...clientOptions }),
    fetch: async (userId, path, init = {}) => {
      const { json, ...rest } = init
      const headers = new Headers(rest.headers)
      headers.set('authorization', `Bearer ${await token(userId)}`)
      if (json !== undefined) headers.set('content-type', 'application/json')
      return fetch(`${base}${path}`, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      })
    },
    ledger,
    async settled(userId, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const state = await ledger(userId)
        const busy = state.reservations > 0 || Object.values(state.reserved).some((n) => n !== 0)
        if (!busy || Date.now() > deadline) return state
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async close() {
      await h.close()
      await upstream.close()
    },
  }
}

/** One request billed exactly the upstream's usage (nothing estimated), nothing left reserved. */
export function expectBilledExactly(ledger: Ledger, input: number, output: number) {
  expect(ledger.used, JSON.stringify(ledger)).toEqual({
    requests: 1,
    tokens_input: input,
    tokens_output: output,
  })
  expect(ledger.usage.every((row) => row.estimated === 0)).toBe(true)
  expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
}
