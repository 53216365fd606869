import { afterEach, describe, expect, it } from 'vitest'
import { rollOverEndedSubscriptions } from '../../src/billing/rollover.job.ts'
import { settle } from '../../src/ledger/service.ts'
import { rollUpAndPrune } from '../../src/ledger/usage-retention.job.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { byMetric, COUNTER_COLUMNS } from '../helpers/counters.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { perMetric } from '../helpers/usage-rows.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * The usage history's rollup and retention over HTTP: what the margin report,
 * the billing page's chart and the console's user page show is the same before
 * and after the job rolled rows up and pruned those past the retention; rows
 * of a current period, of a user with a refund pending and inside the
 * retention stay untouched; the job is idempotent; late corrections land in
 * their day's rollup.
 */
const DAY = 86_400
const HOUR = 3_600
const RETENTION_DAYS = 7

let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

/**
 * Day D of the test, at its start: after the wall clock, so the usage rows' ids (UUIDv7 of
 * the wall clock) are older than every day of the test, as a day's ids are in production.
 */
const dayD = () => Math.floor(Date.now() / 1000 / DAY) * DAY + 2 * DAY

async function setUp() {
  f = await startProxyFixture({
    plan: { interval: 'day' },
    config: {
      modelWeights: {
        'gpt-4o-mini*': { input: 1, output: 1 },
        'gpt-4o*': { input: 16, output: 16 },
      },
      modelPrices: {
        'gpt-4o-mini*': { input: '0.15', output: '0.60' },
        'gpt-4o*': { input: '2.50', output: '10' },
      },
      usage: { retentionDays: RETENTION_DAYS },
      plans: [
        {
          id: 'test',
          name: 'Test',
          price: 0,
          interval: 'day',
          quotas: { requests: 1000, tokens_input: 10_000_000, tokens_output: 10_000_000 },
          features: ['gpt4_access', 'gpt35_access'],
        },
        { id: 'yearly', name: 'Yearly', price: 100, interval: 'year', features: ['gpt4_access'] },
      ],
    },
  })
  return f
}

function at(fixture: ProxyFixture, seconds: number) {
  fixture.h.clock.set(seconds * 1000)
}

async function call(fixture: ProxyFixture, userId: string, model: string, input: number) {
  fixture.upstream.behave({ usage: { input, output: Math.floor(input / 2) } })
  const token = await fixture.h.token({ sub: userId })
  const response = await fetch(`${fixture.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5000 }),
  })
  expect(response.status, await response.text()).toBe(200)
  // The answer leaves before its settle is written (docs/billing-integrity.md, "Answer first"):
  // the rollup below reads the rows, so wait for them.
  await fixture.h.deps.pendingSettles.idle(5_000)
}

/** A late settle of `userId`'s newest request (a swept reservation's owner settling with the truth). */
async function lateCorrection(fixture: ProxyFixture, userId: string, extraInput: number) {
  const { db, deps } = fixture.h
  const rows = perMetric(
    await db.selectFrom('billing_usage').selectAll().where('user_id', '=', userId).execute(),
  ).reverse()
  const requestId = rows[0]!.request_id!
  const of = (metric: string) =>
    rows.filter((r) => r.request_id === requestId && r.metric === metric)
  const amount = (metric: string) => of(metric).reduce((s, r) => s + Number(r.amount), 0)
  const raw = (metric: string) => of(metric).reduce((s, r) => s + Number(r.raw_amount ?? 0), 0)
  const subscription = await db
    .selectFrom('billing_subscription')
    .selectAll()
    .where('id', '=', rows[0]!.subscription_id!)
    .executeTakeFirstOrThrow()
  const weight = rows[0]!.model_id === 'gpt-4o' ? 16 : 1
  const recorded = await settle(
    deps,
    requestId,
    {
      requests: 1,
      tokens_input: amount('tokens_input') + extraInput * weight,
      tokens_output: amount('tokens_output'),
    },
    {
      identity: {
        userId,
        subscriptionId: subscription.id,
        periodStart: subscription.current_period_start,
        modelId: rows[0]!.model_id,
        chatId: null,
      },
      detail: {
        raw: {
          requests: 1,
          tokens_input: raw('tokens_input') + extraInput,
          tokens_output: raw('tokens_output'),
        },
      },
    },
  )
  expect(recorded).toBe(true)
}

async function margin(fixture: ProxyFixture, from: number, to: number) {
  const admin = await fixture.h.adminToken()
  const out: Record<string, unknown> = {}
  for (const group of ['user', 'plan', 'model']) {
    const res = await fixture.h.request(
      `/api/v1/billing/admin/margin?from=${from}&to=${to}&group_by=${group}`,
      { headers: fixture.h.auth(admin) },
    )
    expect(res.status, await res.clone().text()).toBe(200)
    const body = (await res.json()) as { rows: unknown; totals: unknown }
    out[group] = { rows: body.rows, totals: body.totals }
  }
  return out
}

/** The chart's bars ("date: input + output" per day) of each user's billing page, and the console's user page. */
async function pages(fixture: ProxyFixture, users: string[]) {
  const admin = await signInWeb(fixture.h, fixture.base, 'boss', { role: 'admin' })
  const out: Record<string, unknown> = {}
  for (const user of users) {
    const web = await signInWeb(fixture.h, fixture.base, user)
    const html = await web.page('/billing')
    // The wide chart (the page draws a phone-sized copy too, with the same bars).
    const chart = /<figure class="chart wide">[\s\S]*?<\/figure>/.exec(html)?.[0] ?? ''
    out[`chart ${user}`] = [...chart.matchAll(/<title>([^<]+: [\d,]+ \+ [\d,]+)<\/title>/g)].map(
      (m) => m[1],
    )
    // The console's "Last requests" lists raw usage rows, one per request: the prune removes
    // those past the retention (the rollup keeps their sums, compared here), so it is left out.
    const consolePage = await admin.page(`/admin/users/${user}`)
    out[`console ${user}`] = textOf(
      consolePage.replace(/<section aria-labelledby="requests-h">[\s\S]*?<\/section>/, ''),
    )
  }
  return out
}

const usageRows = async (fixture: ProxyFixture) =>
  perMetric(await fixture.h.db.selectFrom('billing_usage').selectAll().execute())
const daily = (fixture: ProxyFixture) =>
  fixture.h.db
    .selectFrom('billing_usage_daily')
    .selectAll()
    .orderBy('user_id')
    .orderBy('day')
    .orderBy('model_id')
    .orderBy('metric')
    .execute()

/** Each counter of a subscription's current period equals the sum of its usage rows in that period. */
async function currentPeriodMatches(fixture: ProxyFixture, userId: string) {
  const { db } = fixture.h
  const sub = await db
    .selectFrom('billing_subscription')
    .selectAll()
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow()
  const counters = byMetric(
    await db
      .selectFrom('billing_quota_counter')
      .select(COUNTER_COLUMNS)
      .where('subscription_id', '=', sub.id)
      .where('period_start', '=', sub.current_period_start)
      .execute(),
  )
  const rows = (await usageRows(fixture)).filter(
    (r) => r.subscription_id === sub.id && r.created_at >= sub.current_period_start,
  )
  expect(counters.length).toBe(3)
  for (const counter of counters) {
    const sum = rows
      .filter((r) => r.metric === counter.metric)
      .reduce((s, r) => s + Number(r.amount), 0)
    expect(Number(counter.used), `${userId} ${counter.metric}`).toBe(sum)
    expect(sum).toBeGreaterThan(0)
  }
}

describe(`usage rollup and retention (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  it('shows the same history, chart and margin before and after rollup and prune; keeps what backs something', async () => {
    const fixture = await setUp()
    const D = dayD()
    at(fixture, D + 9 * HOUR)
    const granted = await fixture.h.json(
      'POST',
      '/api/v1/billing/admin/subscriptions',
      { user_id: 'user-c', plan_id: 'yearly' },
      await fixture.h.adminToken(),
    )
    expect(granted.status, await granted.clone().text()).toBe(201)

    at(fixture, D + 10 * HOUR)
    await call(fixture, 'user-a', 'gpt-4o-mini', 100)
    await call(fixture, 'user-a', 'gpt-4o-mini', 200)
    await call(fixture, 'user-b', 'gpt-4o', 300)
    await call(fixture, 'user-c', 'gpt-4o-mini', 400)
    at(fixture, D + DAY + 10 * HOUR)
    await call(fixture, 'user-a', 'gpt-4o', 500)
    // An hour later the request's owner settles with the true usage: a correction row on day D+1.
    at(fixture, D + DAY + 11 * HOUR)
    await lateCorrection(fixture, 'user-a', 7)
    at(fixture, D + 15 * DAY + 10 * HOUR)
    await call(fixture, 'user-a', 'gpt-4o-mini', 600)
    at(fixture, D + 20 * DAY + 10 * HOUR)
    await call(fixture, 'user-a', 'gpt-4o-mini', 700)
    await call(fixture, 'user-c', 'gpt-4o', 800)
    // user-b disputes a payment: a refund is pending, so b's usage stays reviewable.
    await fixture.h.db
      .insertInto('billing_transaction')
      .values({
        id: 'refund-b',
        user_id: 'user-b',
        plan_id: 'test',
        kind: 'refund',
        amount: 100,
        currency: 'RUB',
        status: 'pending',
        provider: 'yookassa',
        provider_payment_id: null,
        idempotence_key: null,
        description: null,
        metadata: '{}',
        refunded_amount: 0,
        parent_id: null,
        created_at: D + 20 * DAY,
        updated_at: D + 20 * DAY,
      })
      .execute()

    at(fixture, D + 20 * DAY + 12 * HOUR)
    const users = ['user-a', 'user-b', 'user-c']
    const period = [D, D + 21 * DAY] as const
    const marginBefore = await margin(fixture, ...period)
    const pagesBefore = await pages(fixture, users)
    const rowsBefore = await usageRows(fixture)
    // Days D and D+1 are in the chart (30 days) and counted: input of D is 100 + 200.
    expect(
      (pagesBefore['chart user-a'] as string[]).filter((t) => !t.endsWith(': 0 + 0')),
    ).toHaveLength(4)

    await rollOverEndedSubscriptions(fixture.h.deps)
    const now = nowSeconds(fixture.h.clock)
    const first = await rollUpAndPrune(fixture.h.deps, now)
    // The job counts table rows: one per settle, its metrics as columns.
    expect(first.rolledUp).toBe(new Set(rowsBefore.map((r) => r.id)).size)
    // user-a's rows of days D and D+1 (cutoff D+13): 2 requests, 1, and the correction.
    expect(first.pruned).toBe(4)

    const rowsAfter = await usageRows(fixture)
    const gone = rowsBefore.filter((r) => !rowsAfter.some((a) => a.id === r.id))
    expect(gone.every((r) => r.user_id === 'user-a' && r.created_at < D + 2 * DAY)).toBe(true)
    // Everything else is untouched, field for field: inside the retention, a current period, a dispute.
    expect(rowsAfter).toEqual(rowsBefore.filter((r) => !gone.includes(r)))
    expect(rowsAfter.filter((r) => r.user_id === 'user-b')).toHaveLength(3)
    expect(rowsAfter.filter((r) => r.user_id === 'user-c')).toHaveLength(6)
    await currentPeriodMatches(fixture, 'user-c')
    await currentPeriodMatches(fixture, 'user-a')

    expect(await margin(fixture, ...period)).toEqual(marginBefore)
    expect(await pages(fixture, users)).toEqual(pagesBefore)

    // Idempotent: a second run changes nothing.
    const rollup = await daily(fixture)
    expect(await rollUpAndPrune(fixture.h.deps, now)).toEqual({
      rolledUp: 0,
      pruned: 0,
      kept: 0,
      refusalsPruned: 0,
    })
    expect(await daily(fixture)).toEqual(rollup)
    expect(await usageRows(fixture)).toEqual(rowsAfter)

    // A part of a pruned day cannot be counted any more (400); one inside the retention still is.
    const admin = await fixture.h.adminToken()
    const partOfPruned = await fixture.h.request(
      `/api/v1/billing/admin/margin?from=${D + HOUR}&to=${D + 20 * HOUR}`,
      { headers: fixture.h.auth(admin) },
    )
    expect(partOfPruned.status).toBe(400)
    expect(((await partOfPruned.json()) as { error: { param: string } }).error.param).toBe('from')
    const partInside = await margin(fixture, D + 15 * DAY + 9 * HOUR, D + 15 * DAY + 11 * HOUR)
    expect((partInside.user as { totals: { requests: number } }).totals.requests).toBe(1)

    // The refund is over (canceled): the next day's scan prunes user-b's old rows too, and still nothing moves.
    await fixture.h.db
      .updateTable('billing_transaction')
      .set({ status: 'canceled' })
      .where('id', '=', 'refund-b')
      .execute()
    at(fixture, D + 21 * DAY + HOUR)
    const next = await rollUpAndPrune(fixture.h.deps, nowSeconds(fixture.h.clock))
    expect(next.pruned).toBe(1) // its one request: one row, its metrics as columns
    expect(await margin(fixture, ...period)).toEqual(marginBefore)
  })

  it('rolls a late correction into its day, and reads are exact before and after', async () => {
    const fixture = await setUp()
    const D = dayD()
    at(fixture, D + 10 * HOUR)
    await call(fixture, 'user-a', 'gpt-4o-mini', 50)
    await call(fixture, 'user-a', 'gpt-4o', 100)
    at(fixture, D + 12 * HOUR)
    const first = await rollUpAndPrune(fixture.h.deps, nowSeconds(fixture.h.clock))
    expect(first).toEqual({ rolledUp: 2, pruned: 0, kept: 0, refusalsPruned: 0 }) // a row per request
    const before = await margin(fixture, D, D + DAY)

    // The day is rolled up; then its request's late settle adds 9 input tokens (x16 weighted) on that day.
    at(fixture, D + 23 * HOUR)
    await lateCorrection(fixture, 'user-a', 9)
    const corrected = await margin(fixture, D, D + DAY)
    const totals = (m: Record<string, unknown>) =>
      (m.user as { totals: { tokens_input_raw: number; tokens_input_weighted: number } }).totals
    expect(totals(corrected).tokens_input_raw).toBe(totals(before).tokens_input_raw + 9)
    expect(totals(corrected).tokens_input_weighted).toBe(
      totals(before).tokens_input_weighted + 9 * 16,
    )
    const chartBefore = await pages(fixture, ['user-a'])

    at(fixture, D + DAY + HOUR)
    const second = await rollUpAndPrune(fixture.h.deps, nowSeconds(fixture.h.clock))
    expect(second.rolledUp).toBe(1)
    const input = (await daily(fixture)).filter(
      (r) => r.metric === 'tokens_input' && r.model_id === 'gpt-4o',
    )
    expect(input.map((r) => [r.day, Number(r.raw_amount), Number(r.amount)])).toEqual([
      [D, 109, 109 * 16],
    ])
    expect(await margin(fixture, D, D + DAY)).toEqual(corrected)
    at(fixture, D + 23 * HOUR)
    expect(await pages(fixture, ['user-a'])).toEqual(chartBefore)
  })

  it('leaves the rows of the day still open to the raw reads, then rolls them up', async () => {
    const fixture = await setUp()
    // The wall clock: the rows' ids are minutes old at most, as in production.
    fixture.h.clock.set(Date.now())
    await call(fixture, 'user-a', 'gpt-4o-mini', 100)
    const now = nowSeconds(fixture.h.clock)
    const today = Math.floor(now / DAY) * DAY
    const before = await margin(fixture, today, today + DAY)
    expect(await rollUpAndPrune(fixture.h.deps, now)).toEqual({
      rolledUp: 0,
      pruned: 0,
      kept: 0,
      refusalsPruned: 0,
    })
    // Later the same UTC day: still nothing.
    const later = Math.min(now + 20 * 60, today + DAY - 1)
    expect((await rollUpAndPrune(fixture.h.deps, later)).rolledUp).toBe(0)
    expect(await daily(fixture)).toEqual([])
    // The day closed 20 minutes ago: its rows are rolled up, and the reads do not move.
    at(fixture, today + DAY + 20 * 60)
    expect((await rollUpAndPrune(fixture.h.deps, nowSeconds(fixture.h.clock))).rolledUp).toBe(1)
    expect(await margin(fixture, today, today + DAY)).toEqual(before)
  })
})
