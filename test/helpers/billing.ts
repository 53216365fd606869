import { expect } from 'vitest'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import type { Amounts } from '../../src/ledger/amounts.ts'
import { byMetric, COUNTER_COLUMNS } from './counters.ts'
import type { Harness } from './harness.ts'

/** The seed's curl body (docs/reference/seed.md, "Через API"), exactly as documented. */
export const SEED_CURL_BODY = {
  name: 'Pro',
  name_ru: 'Профессиональный',
  description: 'Advanced features and higher quotas',
  description_ru: 'Расширенные возможности и увеличенные квоты',
  price: 990.0,
  currency: 'RUB',
  interval: 'month',
  quotas: { tokens_input: 1000000, tokens_output: 500000, requests: 10000 },
  features: ['gpt4_access', 'claude_access', 'priority_support'],
  is_active: true,
  display_order: 1,
}

export const amounts = (partial: Partial<Amounts>): Amounts => ({
  requests: 0,
  tokens_input: 0,
  tokens_output: 0,
  ...partial,
})

/** Sends a request and returns status and parsed body (the whole body goes into assertion messages). */
export async function call(
  h: Harness,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields ad hoc; the text goes in messages
): Promise<{ status: number; body: any; text: string }> {
  const res = await h.json(method, path, body, token)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null, text }
}

/** Creates a plan through the admin API (asserting 201) and returns its JSON. */
export async function createPlan(h: Harness, body: Record<string, unknown>) {
  const res = await call(h, 'POST', '/api/v1/billing/plans', body, await h.adminToken())
  expect(res.status, res.text).toBe(201)
  return res.body
}

/** Puts `userId` on a new plan with these quotas (admin API) and returns the fresh entitlement. */
export async function userOnPlan(
  h: Harness,
  userId: string,
  plan: { id: string; quotas: Record<string, number | null>; interval?: string },
  periods = 1,
): Promise<Entitlement> {
  await createPlan(h, { name: plan.id, price: 100, interval: 'month', ...plan })
  const res = await call(
    h,
    'POST',
    '/api/v1/billing/admin/subscriptions',
    { user_id: userId, plan_id: plan.id, periods },
    await h.adminToken(),
  )
  expect(res.status, res.text).toBe(201)
  const entitlement = await h.deps.entitlements.get(userId)
  expect(entitlement?.plan.id, JSON.stringify(entitlement)).toBe(plan.id)
  return entitlement!
}

/** The counters of the entitlement's current period, by metric. */
export async function counters(h: Harness, e: Entitlement) {
  // A proxied answer leaves before its settle lands (src/pipeline/settle/settle.ts): read after it.
  await h.deps.pendingSettles.idle(5_000)
  const rows = await h.db
    .selectFrom('billing_quota_counter')
    .select(COUNTER_COLUMNS)
    .where('subscription_id', '=', e.subscription.id)
    .where('period_start', '=', e.subscription.current_period_start)
    .execute()
  return Object.fromEntries(
    byMetric(rows).map((r) => [r.metric, { used: r.used, reserved: r.reserved }]),
  ) as Record<keyof Amounts, { used: number; reserved: number }>
}
