import { Hono } from 'hono'
import { z } from 'zod'
import {
  grantSubscription,
  listSubscriptionsWithUsage,
} from '../billing/admin-subscriptions.service.ts'
import { listUsersWithUsage } from '../billing/admin-users.service.ts'
import { createPlan, listAllPlans, patchPlan } from '../billing/plans.service.ts'
import { planCreateSchema, planPatchSchema } from '../config/plan.schema.ts'
import { GatewayError } from '../http/errors.ts'
import { startOfDay, usageByDay, usageByModel } from '../ledger/usage-history.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { parseMoney } from '../lib/money.ts'
import { ratesOf } from '../payments/exchange-rates.repo.ts'
import { setExchangeRate } from '../payments/exchange-rates.service.ts'
import type { MarginGroup } from '../payments/margin.repo.ts'
import { marginReport, marginToCsv } from '../payments/margin.service.ts'
import { monthlyMargin, monthlyMarginToCsv, shopCosts } from '../payments/margin-monthly.ts'
import { disablePromoCode, listPromoCodes, listRedemptions } from '../payments/promo-codes.repo.ts'
import { createPromoCode } from '../payments/promo-codes.service.ts'
import { refundTransaction } from '../payments/refund.service.ts'
import { findTransaction } from '../payments/transactions.repo.ts'
import { listCallerTransactions, transactionToJson } from '../payments/transactions.service.ts'
import { listRecentWebhookEvents } from '../payments/webhook-events.repo.ts'
import { monthlyCsvName } from '../routes/billing/admin-exchange.ts'
import { lastDays } from './components.tsx'
import type { WebContext, WebEnv } from './env.ts'
import { checkHealth } from './health.ts'
import { t } from './i18n.ts'
import { parseMarginQuery } from './margin-query.ts'
import type { MessageKey } from './messages.ts'
import { parseMonthsQuery } from './months-query.ts'
import { renderMargin } from './pages/admin-margin.tsx'
import { renderMarginMonths } from './pages/admin-margin-months.tsx'
import { renderHealth, renderRefundConfirm, renderWebhooks } from './pages/admin-ops.tsx'
import { renderPlanForm, renderPlans } from './pages/admin-plans.tsx'
import { renderPromoCodes } from './pages/admin-promo.tsx'
import { renderUser, renderUsers } from './pages/admin-users.tsx'
import { fieldErrors, formToPlanBody, type PlanFormValues, planToForm } from './plan-form.ts'

const NOTICES: Record<string, MessageKey> = {
  granted: 'notice_granted',
  refunded: 'notice_refunded',
  plan_saved: 'notice_plan_saved',
  rate_saved: 'notice_rate_saved',
}
const DAYS = 30
const WEBHOOK_ROWS = 100
const PROMO_ROWS = 100

/**
 * /admin: the operator's console. Behind requireAdminViewer and the CSRF check
 * (index.tsx); every action calls the service its API route calls (plans,
 * grants, refunds), with the API's own plan schema.
 */
export function createAdminPages() {
  return new Hono<WebEnv>()
    .get('/', async (c) => {
      const q = (c.req.query('q') ?? '').trim().slice(0, 200)
      const sort = c.req.query('sort') === 'newest' ? 'newest' : 'usage'
      const list = await listUsersWithUsage(c.get('deps'), { q: q || undefined, sort })
      return renderUsers(c, list, { q, sort })
    })
    .get('/users/:id', async (c) => {
      const deps = c.get('deps')
      const userId = c.req.param('id')
      // The chart's first day: the per-model totals cover the same whole UTC days as the chart.
      const since = startOfDay(nowSeconds(deps.clock)) - (DAYS - 1) * 86_400
      const [subscriptions, plans, daily, byModel, transactions] = await Promise.all([
        listSubscriptionsWithUsage(deps, { userId, limit: 20 }),
        listAllPlans(deps),
        usageByDay(deps.database.db, userId, since),
        usageByModel(deps.database.db, userId, since),
        listCallerTransactions(deps, c.get('viewer')!, { userId, limit: 50 }),
      ])
      return renderUser(
        c,
        {
          userId,
          subscriptions: subscriptions.rows,
          plans,
          days: lastDays(daily, nowSeconds(deps.clock), DAYS),
          byModel,
          transactions: transactions.data,
          paymentsEnabled: deps.yookassa !== null,
        },
        notice(c),
      )
    })
    .post('/users/:id/grant', async (c) => {
      const body = await c.req.parseBody()
      const periods = Number(body.periods ?? 1)
      if (!Number.isInteger(periods) || periods < 1 || periods > 1200) {
        throw new GatewayError('validation_failed', 'periods must be an integer from 1 to 1200', {
          param: 'periods',
        })
      }
      const userId = c.req.param('id')
      await grantSubscription(c.get('deps'), {
        userId,
        planId: String(body.plan_id ?? ''),
        periods,
      })
      return c.redirect(`/admin/users/${encodeURIComponent(userId)}?notice=granted`, 303)
    })
    .get('/transactions/:id/refund', async (c) => {
      const row = await findTransaction(c.get('deps').database.db, c.req.param('id'))
      if (!row || row.kind === 'refund') throw new GatewayError('not_found', 'No such payment')
      return renderRefundConfirm(c, transactionToJson(row))
    })
    .post('/transactions/:id/refund', async (c) => {
      const body = await c.req.parseBody()
      const raw = typeof body.amount === 'string' ? body.amount.trim().replace(',', '.') : ''
      const amount = raw === '' ? undefined : parseMoney(raw)
      if (amount === null || (amount !== undefined && amount <= 0)) {
        throw new GatewayError('validation_failed', 'amount must be a positive sum like "400.00"', {
          param: 'amount',
        })
      }
      const { payment } = await refundTransaction(c.get('deps'), {
        transactionId: c.req.param('id'),
        amount,
        adminId: c.get('viewer')!.userId,
      })
      return c.redirect(`/admin/users/${encodeURIComponent(payment.user_id)}?notice=refunded`, 303)
    })
    .get('/plans', async (c) => renderPlans(c, await listAllPlans(c.get('deps')), notice(c)))
    .get('/plans/new', (c) =>
      renderPlanForm(c, {
        values: { currency: 'RUB', interval: 'month', is_active: 'on', display_order: '0' },
        errors: {},
      }),
    )
    .post('/plans', async (c) => {
      const values = await formValues(c)
      const parsed = planCreateSchema.safeParse(formToPlanBody(values, { withId: true }))
      if (!parsed.success)
        return renderPlanForm(c, { values, errors: fieldErrors(parsed.error, c.get('lang')) })
      await createPlan(c.get('deps'), parsed.data)
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .get('/plans/:id', async (c) => {
      const plan = (await listAllPlans(c.get('deps'))).find((p) => p.id === c.req.param('id'))
      if (!plan) throw new GatewayError('not_found', `No plan with id "${c.req.param('id')}"`)
      return renderPlanForm(c, { id: plan.id, values: planToForm(plan), errors: {} })
    })
    .post('/plans/:id', async (c) => {
      const id = c.req.param('id')
      const values = await formValues(c)
      const parsed = planPatchSchema.safeParse(formToPlanBody(values, { withId: false }))
      if (!parsed.success) {
        return renderPlanForm(c, { id, values, errors: fieldErrors(parsed.error, c.get('lang')) })
      }
      await patchPlan(c.get('deps'), id, parsed.data)
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .post('/plans/:id/active', async (c) => {
      const body = await c.req.parseBody()
      await patchPlan(c.get('deps'), c.req.param('id'), { is_active: body.active === 'on' })
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .post('/plans/:id/move', async (c) => {
      const deps = c.get('deps')
      const body = await c.req.parseBody()
      const plans = await listAllPlans(deps)
      const from = plans.findIndex((p) => p.id === c.req.param('id'))
      const to = from + (body.direction === 'up' ? -1 : 1)
      if (from < 0 || to < 0 || to >= plans.length) return c.redirect('/admin/plans', 303)
      const order = plans.slice()
      ;[order[from], order[to]] = [order[to]!, order[from]!]
      // Orders are renumbered 0, 1, 2...: equal display_order values would make a swap a no-op.
      for (const [index, plan] of order.entries()) {
        if (plan.display_order !== index) await patchPlan(deps, plan.id, { display_order: index })
      }
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .get('/promo', async (c) => renderPromoCodes(c, await promoPage(c)))
    .post('/promo', async (c) => {
      const body = await c.req.parseBody()
      const parsed = promoFormSchema.safeParse(body)
      if (!parsed.success) {
        const error = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
        return renderPromoCodes(c, { ...(await promoPage(c)), error })
      }
      const form = parsed.data
      const { code } = await createPromoCode(c.get('deps'), c.get('viewer')!, {
        code: form.code,
        label: form.label,
        kind: form.kind,
        planId: form.plan_id,
        days: form.kind === 'plan_days' ? form.days : undefined,
        percentOff: form.kind === 'discount' ? form.percent_off : undefined,
        maxUses: form.max_uses ?? null,
        // The last second of the chosen day, UTC.
        expiresAt: form.expires_on ? Date.parse(`${form.expires_on}T23:59:59Z`) / 1000 : null,
      })
      return renderPromoCodes(c, { ...(await promoPage(c)), created: code })
    })
    .post('/promo/:id/disable', async (c) => {
      const { database, clock } = c.get('deps')
      await disablePromoCode(database.db, c.req.param('id'), nowSeconds(clock))
      return c.redirect('/admin/promo', 303)
    })
    .get('/webhooks', async (c) =>
      renderWebhooks(c, await listRecentWebhookEvents(c.get('deps').database.db, WEBHOOK_ROWS)),
    )
    .get('/health', async (c) => renderHealth(c, await checkHealth(c.get('deps'))))
    .get('/margin', async (c) => {
      const { query, report } = await margin(c)
      return renderMargin(c, query, report, await shopCostsOf(c, query))
    })
    .get('/margin/months', async (c) => {
      const deps = c.get('deps')
      const query = parseMonthsQuery(c.req.query(), nowSeconds(deps.clock))
      const report = await monthlyMargin(deps.database.db, deps.config, query)
      const list = await ratesOf(deps.database.db, deps.config.shopCurrency)
      const rates = { list, fixedMicros: deps.config.exchangeRate }
      return renderMarginMonths(c, query, report, rates, notice(c))
    })
    .get('/margin/months.csv', async (c) => {
      // The same CSV and dated file name as GET /api/v1/billing/admin/margin/monthly?format=csv.
      const deps = c.get('deps')
      const query = parseMonthsQuery(c.req.query(), nowSeconds(deps.clock))
      const report = await monthlyMargin(deps.database.db, deps.config, query)
      return c.body(monthlyMarginToCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${monthlyCsvName(query.from, query.to)}"`,
      })
    })
    .post('/margin/rates', async (c) => {
      const deps = c.get('deps')
      const body = await c.req.parseBody()
      await setExchangeRate(
        deps.database.db,
        {
          currency: deps.config.shopCurrency,
          date: String(body.date ?? ''),
          rate: String(body.rate ?? '').replace(',', '.'),
        },
        { adminId: c.get('viewer')!.userId, now: nowSeconds(deps.clock) },
      )
      return c.redirect('/admin/margin/months?notice=rate_saved', 303)
    })
    .get('/margin.csv', async (c) => {
      // The same CSV and headers as GET /api/v1/billing/admin/margin?format=csv.
      const { report } = await margin(c)
      return c.body(marginToCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="margin-${report.group_by}-${report.from}-${report.to}.csv"`,
      })
    })
}

const blankIsAbsent = (v: unknown) => (v === '' ? undefined : v)

/** The console's promo form: strings from the form, absent when left empty. */
const promoFormSchema = z.object({
  label: z.string().trim().min(1).max(200),
  code: z.preprocess(blankIsAbsent, z.string().max(128).optional()),
  kind: z.enum(['plan_days', 'discount']),
  plan_id: z.preprocess(blankIsAbsent, z.string().max(64).optional()),
  days: z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(3660).optional()),
  percent_off: z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(95).optional()),
  max_uses: z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(1_000_000).optional()),
  expires_on: z.preprocess(
    blankIsAbsent,
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
  ),
})

async function promoPage(c: WebContext) {
  const deps = c.get('deps')
  const [codes, redemptions, plans] = await Promise.all([
    listPromoCodes(deps.database.db, PROMO_ROWS),
    listRedemptions(deps.database.db, { limit: PROMO_ROWS }),
    listAllPlans(deps),
  ])
  return { codes, redemptions, plans }
}

function notice(c: WebContext): string | undefined {
  const key = NOTICES[c.req.query('notice') ?? '']
  return key && t(c.get('lang'), key)
}

/** The API's report (same service) for the console's dates: [from 00:00, to + 1 day 00:00) UTC. */
async function margin(c: WebContext) {
  const deps = c.get('deps')
  const query = parseMarginQuery(c.req.query(), nowSeconds(deps.clock))
  const period = { from: query.from, to: query.to }
  const report = await marginReport(
    deps.database.db,
    query.group,
    period,
    deps.config.priceCurrency,
  )
  return { query, report }
}

/** The rows' costs in the shop currency, when any exchange rate (fixed or dated) is known. */
async function shopCostsOf(c: WebContext, query: { group: MarginGroup; from: number; to: number }) {
  const deps = c.get('deps')
  const { db } = deps.database
  const known =
    deps.config.exchangeRate !== undefined ||
    (await ratesOf(db, deps.config.shopCurrency)).length > 0
  if (!known) return null
  const period = { from: query.from, to: query.to }
  const costs = await shopCosts(db, deps.config, query.group, period)
  return { currency: deps.config.shopCurrency, costs }
}

async function formValues(c: WebContext): Promise<PlanFormValues> {
  const body = await c.req.parseBody()
  return Object.fromEntries(
    Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'),
  )
}
