import { bodies } from '../scenarios/payloads.ts'
import { CHAT_PATH } from './target.ts'

export const BENCH_PLAN = 'bench-unlimited'

async function call(origin: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(origin + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, text }
}

/**
 * Creates the unlimited plan (quotas null) as an admin and subscribes the bench user to it.
 * The gateway was started with DEFAULT_PLAN_ID=bench-unlimited, so when the admin grant route
 * does not exist the user still lands on the plan, as a user without a paid subscription.
 */
export async function grantUnlimitedPlan(
  origin: string,
  admin: string,
  users: Array<{ id: string; token: string }>,
): Promise<string> {
  const plan = {
    id: BENCH_PLAN,
    name: 'Bench unlimited',
    description: 'Every quota unlimited, so each request does the full metering work',
    price: '0.00',
    currency: 'RUB',
    interval: 'month',
    quotas: { tokens_input: null, tokens_output: null, requests: null },
    features: ['gpt4_access', 'gpt35_access', 'claude_access'],
  }
  let created = await call(origin, 'POST', '/api/v1/billing/plans', admin, plan)
  // A plan priced 0 may be refused as unpayable; its price does not matter here.
  if (created.status === 400 || created.status === 422) {
    created = await call(origin, 'POST', '/api/v1/billing/plans', admin, {
      ...plan,
      price: '990.00',
    })
  }
  // 409: seeded from bench/gateway.config.ts; 404: no plan routes yet, the seeded plan serves.
  if (![201, 404, 409].includes(created.status)) {
    throw new Error(`creating the bench plan: ${created.status} ${created.text}`)
  }
  let granted = 0
  let refusal = ''
  for (const user of users) {
    // The user row comes from its first authenticated call.
    await call(origin, 'GET', '/api/v1/billing/subscription', user.token)
    const grant = await call(origin, 'POST', '/api/v1/billing/admin/subscriptions', admin, {
      user_id: user.id,
      plan_id: BENCH_PLAN,
    })
    if (grant.status === 200 || grant.status === 201) granted++
    else refusal = `${grant.status}: ${grant.text.slice(0, 200)}`
  }
  if (granted === users.length) return 'admin-granted subscriptions'
  return `default plan (admin grant answered ${refusal})`
}

/** One real call, so a broken setup fails here with the gateway's answer, not as a column of errors. */
export async function expectChat(origin: string, headers: Record<string, string>, name: string) {
  const res = await fetch(origin + CHAT_PATH, { method: 'POST', headers, body: bodies.chat })
  const text = await res.text()
  if (res.status !== 200)
    throw new Error(`${name}: chat answered ${res.status} ${text.slice(0, 500)}`)
}

/** A gateway API key for the bench user, or null when the keys route is not there yet. */
export async function createApiKey(origin: string, user: string): Promise<string | null> {
  const res = await call(origin, 'POST', '/api/v1/keys', user, { name: 'bench' })
  if (res.status !== 201) return null
  const key = (JSON.parse(res.text) as { key?: unknown }).key
  return typeof key === 'string' ? key : null
}
