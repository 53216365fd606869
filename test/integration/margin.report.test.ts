import { afterEach, describe, expect, it } from 'vitest'
import type { TransactionRow } from '../../db/tables.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * GET /api/v1/billing/admin/margin against hand-computed figures: two users on
 * two plans, one call each inside the period and one after it, payments and a
 * refund inside, a pending and a late payment left out.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const PRICES = {
  'gpt-4o-mini*': { input: '0.15', output: '0.60' },
  'gpt-4o*': { input: '2.50', output: 10 },
}
const WEIGHTS = { 'gpt-4o-mini*': { input: 1, output: 1 }, 'gpt-4o*': { input: 16, output: 16 } }

async function call(fixture: ProxyFixture, userId: string, model: string) {
  const response = await fixture.fetch(userId, '/v1/chat/completions', {
    method: 'POST',
    json: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5000 },
  })
  expect(response.status, await response.clone().text()).toBe(200)
  // The answer leaves before its settle is written ("Answer first"); the report reads the rows.
  await fixture.h.deps.pendingSettles.idle(5_000)
}

function transaction(
  fixture: ProxyFixture,
  row: Pick<TransactionRow, 'id' | 'user_id' | 'plan_id' | 'kind' | 'amount' | 'status'>,
  at: number,
) {
  return fixture.h.db
    .insertInto('billing_transaction')
    .values({
      ...row,
      currency: 'RUB',
      provider: 'yookassa',
      provider_payment_id: `yk-${row.id}`,
      idempotence_key: null,
      description: null,
      metadata: '{}',
      refunded_amount: 0,
      parent_id: row.kind === 'refund' ? 'pay-b' : null,
      created_at: at,
      updated_at: at,
    })
    .execute()
}

async function setUp() {
  f = await startProxyFixture({
    config: {
      modelWeights: WEIGHTS,
      modelPrices: PRICES,
      plans: [
        { id: 'test', name: 'Test', price: 0, features: ['gpt4_access'] },
        { id: 'pro', name: 'Pro', price: 990, features: ['gpt4_access'] },
      ],
    },
  })
  const granter = await f.h.adminToken()
  const granted = await f.h.json(
    'POST',
    '/api/v1/billing/admin/subscriptions',
    { user_id: 'user-b', plan_id: 'pro' },
    granter,
  )
  expect(granted.status, await granted.clone().text()).toBe(201)
  const from = nowSeconds(f.h.clock)
  const to = from + 3600

  f.upstream.behave({ usage: { input: 1000, output: 500 } })
  await call(f, 'user-a', 'gpt-4o-mini')
  f.upstream.behave({ usage: { input: 2000, output: 1000 } })
  await call(f, 'user-b', 'gpt-4o')
  await transaction(
    f,
    {
      id: 'pay-a',
      user_id: 'user-a',
      plan_id: 'test',
      kind: 'payment',
      amount: 99_000,
      status: 'succeeded',
    },
    from,
  )
  await transaction(
    f,
    {
      id: 'pay-b',
      user_id: 'user-b',
      plan_id: 'pro',
      kind: 'payment',
      amount: 99_000,
      status: 'refunded',
    },
    from + 10,
  )
  await transaction(
    f,
    {
      id: 'ref-b',
      user_id: 'user-b',
      plan_id: 'pro',
      kind: 'refund',
      amount: 40_000,
      status: 'succeeded',
    },
    from + 20,
  )
  await transaction(
    f,
    {
      id: 'pend-a',
      user_id: 'user-a',
      plan_id: 'test',
      kind: 'payment',
      amount: 50_000,
      status: 'pending',
    },
    from + 30,
  )
  await transaction(
    f,
    {
      id: 'late-a',
      user_id: 'user-a',
      plan_id: 'test',
      kind: 'renewal',
      amount: 99_000,
      status: 'succeeded',
    },
    to,
  )

  // After the period: counted by the ledger, left out of the report.
  f.h.clock.advance(3_700_000)
  const fresh = await f.h.token({ sub: 'user-a' }) // the cached one expired with the hour
  const late = await fetch(`${f.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...f.h.auth(fresh), 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(late.status, await late.clone().text()).toBe(200)
  const admin = await f.h.adminToken()
  return { from, to, admin }
}

// Hand-computed: cost micros = tokens x price per 1M (0.15/0.60 and 2.50/10.00).
const A = {
  requests: 1,
  tokens_input_raw: 1000,
  tokens_input_weighted: 1000,
  tokens_output_raw: 500,
  tokens_output_weighted: 500,
  cost_micros: 150 + 300,
}
const B = {
  requests: 1,
  tokens_input_raw: 2000,
  tokens_input_weighted: 32_000,
  tokens_output_raw: 1000,
  tokens_output_weighted: 16_000,
  cost_micros: 5_000 + 10_000,
}

describe('the margin report', () => {
  it('per user, plan and model equals the hand-computed figures; the CSV holds the same numbers', async () => {
    const { from, to, admin } = await setUp()
    const get = async (query: string) => {
      const response = await f!.h.json(
        'GET',
        `/api/v1/billing/admin/margin?from=${from}&to=${to}&${query}`,
        undefined,
        admin,
      )
      expect(response.status, await response.clone().text()).toBe(200)
      return response
    }

    const byUser = (await (await get('group_by=user')).json()) as Record<string, unknown>
    expect(byUser).toMatchObject({
      from,
      to,
      group_by: 'user',
      cost_currency: 'USD',
      earned_currencies: ['RUB'],
    })
    expect(byUser.rows).toEqual([
      {
        key: 'user-a',
        ...A,
        earned_minor: { RUB: 99_000 },
        cost: '0.000450',
        earned: { RUB: '990.00' },
      },
      {
        key: 'user-b',
        ...B,
        earned_minor: { RUB: 59_000 },
        cost: '0.015000',
        earned: { RUB: '590.00' },
      },
    ])
    expect(byUser.totals).toMatchObject({
      requests: 2,
      cost_micros: 15_450,
      earned_minor: { RUB: 158_000 },
    })

    const byPlan = (await (await get('group_by=plan')).json()) as {
      rows: Array<Record<string, unknown>>
    }
    expect(byPlan.rows.map(({ cost: _, earned: __, ...r }) => r)).toEqual([
      { key: 'pro', ...B, earned_minor: { RUB: 59_000 } },
      { key: 'test', ...A, earned_minor: { RUB: 99_000 } },
    ])

    const byModel = (await (await get('group_by=model')).json()) as {
      rows: Array<Record<string, unknown>>
    }
    expect(byModel.rows.map(({ cost: _, earned: __, ...r }) => r)).toEqual([
      { key: 'gpt-4o', ...B, earned_minor: {} },
      { key: 'gpt-4o-mini', ...A, earned_minor: {} },
    ])

    const csv = await get('group_by=user&format=csv')
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    const table = (await csv.text())
      .trimEnd()
      .split('\r\n')
      .map((line) => line.split(','))
    const [header, ...rows] = table
    const records = rows.map((cells) =>
      Object.fromEntries(header!.map((name, i) => [name, cells[i]])),
    )
    const asCsv = (key: string, r: typeof A, earned: number) => ({
      user: key,
      ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])),
      earned_minor_rub: String(earned),
    })
    expect(records).toEqual([asCsv('user-a', A, 99_000), asCsv('user-b', B, 59_000)])
  })

  it('refuses a bad period or grouping with a 400 in the envelope, and strangers with a 403', async () => {
    const { from, to, admin } = await setUp()
    const path = '/api/v1/billing/admin/margin'
    for (const query of [
      `from=${to}&to=${from}`,
      `from=${from}&to=${to}&group_by=day`,
      `from=x&to=${to}`,
      `to=${to}`,
    ]) {
      const response = await f!.h.json('GET', `${path}?${query}`, undefined, admin)
      expect(response.status, query).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'validation_failed',
      )
    }
    const stranger = await f!.h.token({ sub: 'user-a' })
    const refused = await f!.h.json('GET', `${path}?from=${from}&to=${to}`, undefined, stranger)
    expect(refused.status).toBe(403)
  })
})
