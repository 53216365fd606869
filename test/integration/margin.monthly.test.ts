import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TransactionRow } from '../../db/tables.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * The margin in roubles per month against a hand-computed figure: upstream
 * cost in USD converted day by day at the admin's dated rates (90.5 from
 * March 1st, 100 from March 16th) or the configured fixed rate (80) before
 * them, payments in RUB by their dates.
 */
let f: ProxyFixture
let admin: string
const at = (iso: string) => Date.parse(iso) / 1000

beforeAll(async () => {
  f = await startProxyFixture({
    config: {
      modelPrices: { 'gpt-4o*': { input: '2.50', output: 10 } },
      priceCurrency: 'USD',
      shopCurrency: 'RUB',
      exchangeRate: '80',
    },
  })
  admin = await f.h.adminToken()
  // Each call: 100,000 input x $2.50/1M + 50,000 output x $10/1M = $0.75 = 750,000 micro-dollars.
  f.upstream.behave({ usage: { input: 100_000, output: 50_000 } })
  for (const day of [
    '2026-02-20T10:00:00Z',
    '2026-03-10T10:00:00Z',
    '2026-03-20T10:00:00Z',
    '2026-03-31T23:59:59Z',
  ]) {
    const res = await f.fetch('buyer', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 60_000 },
    })
    expect(res.status, await res.clone().text()).toBe(200)
    await f.h.deps.pendingSettles.idle(5_000)
    // Dated as if made that day: the newest request's rows.
    const newest = await f.h.db
      .selectFrom('billing_usage')
      .select('request_id')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow()
    await f.h.db
      .updateTable('billing_usage')
      .set({ created_at: at(day) })
      .where('request_id', '=', newest.request_id)
      .execute()
  }
  await payment('p1', 'payment', 99_000, '2026-03-05T12:00:00Z')
  await payment('p2', 'renewal', 99_000, '2026-03-25T12:00:00Z')
  await payment('r1', 'refund', 10_000, '2026-03-26T12:00:00Z')
  await payment('p3', 'payment', 99_000, '2026-04-01T00:00:00Z') // April: outside
  for (const [date, rate] of [
    ['2026-03-01', '90.5'],
    ['2026-03-16', '100'],
  ]) {
    const res = await f.h.json(
      'POST',
      '/api/v1/billing/admin/exchange-rates',
      { date, rate },
      admin,
    )
    expect(res.status, await res.clone().text()).toBe(200)
  }
})
afterAll(async () => {
  await f?.close()
})

function payment(id: string, kind: TransactionRow['kind'], amount: number, iso: string) {
  return f.h.db
    .insertInto('billing_transaction')
    .values({
      id,
      user_id: 'buyer',
      plan_id: 'test',
      kind,
      amount,
      status: 'succeeded',
      currency: 'RUB',
      provider: 'yookassa',
      provider_payment_id: `yk-${id}`,
      idempotence_key: null,
      description: null,
      metadata: '{}',
      refunded_amount: 0,
      parent_id: kind === 'refund' ? 'p1' : null,
      created_at: at(iso),
      updated_at: at(iso),
    })
    .execute()
}

describe('GET /api/v1/billing/admin/margin/monthly', () => {
  it('a month with two dated rates: the margin in roubles, as computed by hand', async () => {
    const res = await f.h.json(
      'GET',
      '/api/v1/billing/admin/margin/monthly?from=2026-02&to=2026-03',
      undefined,
      admin,
    )
    const body = await res.json()
    expect(res.status, JSON.stringify(body)).toBe(200)
    // February: $0.75 at the fixed 80 = 60.00 RUB, no payment.
    // March: $0.75 on the 10th at 90.5 = 67.875; $0.75 on the 20th and $0.75 on the 31st at 100
    // = 150; 217.875 rounded up = 217.88 RUB. Revenue 990 + 990 - 100 = 1,880.00 RUB.
    // Margin 1,880.00 - 217.88 = 1,662.12 RUB.
    expect(body).toEqual({
      shop_currency: 'RUB',
      cost_currency: 'USD',
      months: [
        {
          month: '2026-02',
          revenue_minor: 0,
          cost_micros: 750_000,
          cost_minor: 6_000,
          margin_minor: -6_000,
        },
        {
          month: '2026-03',
          revenue_minor: 188_000,
          cost_micros: 2_250_000,
          cost_minor: 21_788,
          margin_minor: 166_212,
        },
      ],
      totals: {
        revenue_minor: 188_000,
        cost_micros: 3_000_000,
        cost_minor: 27_788,
        margin_minor: 160_212,
      },
    })
  })

  it('CSV with a dated file name, integers only', async () => {
    const res = await f.h.json(
      'GET',
      '/api/v1/billing/admin/margin/monthly?from=2026-03&to=2026-03&format=csv',
      undefined,
      admin,
    )
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="margin-monthly-2026-03_2026-03.csv"',
    )
    expect(await res.text()).toBe(
      'month,revenue_minor_rub,cost_micros_usd,cost_minor_rub,margin_minor_rub\r\n2026-03,188000,2250000,21788,166212\r\n',
    )
  })

  it('a day no dated rate covers converts at the configured fixed rate', async () => {
    const res = await f.h.json(
      'GET',
      '/api/v1/billing/admin/margin/monthly?from=2026-02&to=2026-02',
      undefined,
      admin,
    )
    expect(
      ((await res.json()) as { months: Array<{ cost_minor: number }> }).months[0]?.cost_minor,
    ).toBe(6_000)
  })

  it('bad input: 400 and nothing changes; a rate set again for a date replaces it', async () => {
    for (const body of [
      { date: '2026-02-30', rate: '90' },
      { date: '2026-03-01', rate: '-1' },
      { date: '2026-03-01', rate: '1.1234567' },
    ]) {
      const res = await f.h.json('POST', '/api/v1/billing/admin/exchange-rates', body, admin)
      expect(res.status, JSON.stringify(body)).toBe(400)
    }
    const bad = await f.h.json(
      'GET',
      '/api/v1/billing/admin/margin/monthly?from=2026-03&to=2026-02',
      undefined,
      admin,
    )
    expect(bad.status).toBe(400)
    const user = await f.token('buyer')
    const refused = await f.h.json(
      'POST',
      '/api/v1/billing/admin/exchange-rates',
      { date: '2026-03-01', rate: '1' },
      user,
    )
    expect(refused.status).toBe(403)
    const listed = await f.h.json('GET', '/api/v1/billing/admin/exchange-rates', undefined, admin)
    const rates = (await listed.json()) as { rates: unknown[] }
    expect(rates.rates).toEqual([
      { date: '2026-03-01', rate_micros: 90_500_000 },
      { date: '2026-03-16', rate_micros: 100_000_000 },
    ])
  })
})

describe('the console', () => {
  it("the grouped report's margin in RUB: each day's cost at its rate", async () => {
    const web = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const html = await web.page('/admin/margin?from=2026-03-01&to=2026-03-31&group_by=user')
    expect(html).toContain('Margin, RUB')
    const row = textOf(/<tr data-key="buyer">([\s\S]*?)<\/tr>/.exec(html)![1]!)
    // 1,880 RUB earned - (67.875 + 75 + 75) RUB of cost, in the report's six decimals.
    expect(row).toContain('1,662.125000')
  })

  it('the month view shows the figures; its rate form sets a rate, a bad one is a 400 that changes nothing', async () => {
    const web = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const html = await web.page('/admin/margin/months?from=2026-03&to=2026-03')
    expect(textOf(html)).toContain('RUB 1,662.12')
    const bad = await web.post('/admin/margin/rates', { date: '2026-13-01', rate: '90' })
    expect(bad.status).toBe(400)
    const set = await web.post('/admin/margin/rates', { date: '2026-04-01', rate: '101,25' })
    expect(set.status).toBe(303)
    const listed = await f.h.json('GET', '/api/v1/billing/admin/exchange-rates', undefined, admin)
    const rates = (await listed.json()) as { rates: unknown[] }
    expect(rates.rates).toContainEqual({ date: '2026-04-01', rate_micros: 101_250_000 })
    expect(rates.rates).toHaveLength(3)
  })
})
