import { Hono } from 'hono'
import { z } from 'zod'
import type { Db } from '../../db/tables.ts'
import { listSubscriptionsWithUsage } from '../billing/admin-subscriptions.service.ts'
import { countLiveSubscriptionsByPlan } from '../billing/admin-users.repo.ts'
import { listUsersWithUsage } from '../billing/admin-users.service.ts'
import { dropKeptQuotas, keepQuotasForCurrentPeriods } from '../billing/kept-quotas.ts'
import { listPacks } from '../billing/packs.repo.ts'
import type { Plan } from '../billing/plan.ts'
import { createPlan, listAllPlans, patchPlan } from '../billing/plans.service.ts'
import { type PlanPatch, planCreateSchema, planPatchSchema } from '../config/plan.schema.ts'
import { GatewayError } from '../http/errors.ts'
import { METRICS } from '../ledger/amounts.ts'
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
import {
  findTransaction,
  findTransactionByProviderId,
  findTransactionsByProviderIds,
} from '../payments/transactions.repo.ts'
import { listCallerTransactions, transactionToJson } from '../payments/transactions.service.ts'
import { listRecentWebhookEvents } from '../payments/webhook-events.repo.ts'
import { monthlyCsvName } from '../routes/billing/admin-exchange.ts'
import { createAdminDefaultPlanPages } from './admin-default-plan.routes.tsx'
import { createAdminUserPages } from './admin-user.routes.tsx'
import { loadUserDetails } from './admin-user-view.ts'
import { lastDays } from './components.tsx'
import { listAudit } from './console-audit.repo.ts'
import { recordAction } from './console-audit.ts'
import type { WebContext, WebEnv } from './env.ts'
import { checkHealth } from './health.ts'
import { t } from './i18n.ts'
import { parseMarginQuery } from './margin-query.ts'
import type { MessageKey } from './messages.ts'
import { parseMonthsQuery } from './months-query.ts'
import { renderAudit } from './pages/admin-audit.tsx'
import { renderMargin } from './pages/admin-margin.tsx'
import { renderMarginMonths } from './pages/admin-margin-months.tsx'
import { renderHealth, renderRefundConfirm, renderWebhooks } from './pages/admin-ops.tsx'
import { renderPlanForm, renderPlans } from './pages/admin-plans.tsx'
import { renderPromoCodes } from './pages/admin-promo.tsx'
import { renderUser, renderUsers } from './pages/admin-users.tsx'
import { fieldErrors, formToPlanBody, type PlanFormValues, planToForm } from './plan-form.ts'

const NOTICES: Record<string, MessageKey> = {
  granted: 'notice_granted',
  user_disabled: 'notice_user_disabled',
  user_enabled: 'notice_user_enabled',
  key_revoked: 'notice_key_revoked',
  refunded: 'notice_refunded',
  plan_saved: 'notice_plan_saved',
  default_saved: 'notice_default_saved',
  rate_saved: 'notice_rate_saved',
}
const DAYS = 30
const WEBHOOK_ROWS = 100
const PROMO_ROWS = 100
const AUDIT_ROWS = 200

/**
 * /admin: the operator's console. Behind requireAdminViewer and the CSRF check
 * (index.tsx); every action calls the service its API route calls (plans,
 * grants, refunds), with the API's own plan schema.
 */
export function createAdminPages() {
  return new Hono<WebEnv>()
    .route('/', createAdminUserPages())
    .route('/', createAdminDefaultPlanPages())
    .get('/', async (c) => {
      const q = (c.req.query('q') ?? '').trim().slice(0, 200)
      // One search box for users and payments: a YooKassa or transaction id opens its user's page.
      const payment = q ? await findPaymentByAnyId(c.get('deps').database.db, q) : undefined
      if (payment) return c.redirect(paymentPath(payment), 303)
      const sort = c.req.query('sort') === 'newest' ? 'newest' : 'usage'
      const list = await listUsersWithUsage(c.get('deps'), { q: q || undefined, sort })
      return renderUsers(c, list, { q, sort })
    })
    .get('/users/:id', async (c) => {
      const deps = c.get('deps')
      const userId = c.req.param('id')
      // The chart's first day: the per-model totals cover the same whole UTC days as the chart.
      const since = startOfDay(nowSeconds(deps.clock)) - (DAYS - 1) * 86_400
      const [subscriptions, plans, daily, byModel, transactions, details] = await Promise.all([
        listSubscriptionsWithUsage(deps, { userId, limit: 20 }),
        listAllPlans(deps),
        usageByDay(deps.database.db, userId, since),
        usageByModel(deps.database.db, userId, since),
        listCallerTransactions(deps, c.get('viewer')!, { userId, limit: 50 }),
        loadUserDetails(deps, userId),
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
          details,
        },
        notice(c),
      )
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
      const { refund, payment } = await refundTransaction(c.get('deps'), {
        transactionId: c.req.param('id'),
        amount,
        adminId: c.get('viewer')!.userId,
      })
      // After YooKassa's answer: no transaction is held open across the call (the refund row
      // itself was committed before it, with its idempotence key).
      await recordAction(c, {
        action: 'refund',
        targetUserId: payment.user_id,
        subject: payment.id,
        before: { amount: payment.amount, provider_payment_id: payment.provider_payment_id },
        after: { refund: refund.id, amount: refund.amount, status: refund.status },
      })
      return c.redirect(`/admin/users/${encodeURIComponent(payment.user_id)}?notice=refunded`, 303)
    })
    .get('/plans', async (c) => {
      const deps = c.get('deps')
      const [plans, subscribers, packs] = await Promise.all([
        listAllPlans(deps),
        countLiveSubscriptionsByPlan(deps.database.db),
        listPacks(deps.database.db, { activeOnly: false }),
      ])
      const defaultPlanId = await deps.defaultPlan.fresh(deps.database.db)
      return renderPlans(c, plans, notice(c), { subscribers, defaultPlanId }, packs)
    })
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
      const plan = await createPlan(c.get('deps'), parsed.data)
      await recordAction(c, {
        action: 'plan_create',
        targetUserId: null,
        subject: plan.id,
        before: null,
        after: planFacts(plan),
      })
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .get('/plans/:id', async (c) => {
      const plan = (await listAllPlans(c.get('deps'))).find((p) => p.id === c.req.param('id'))
      if (!plan) throw new GatewayError('not_found', `No plan with id "${c.req.param('id')}"`)
      const affects = await subscribersOf(c, plan.id)
      return renderPlanForm(c, { id: plan.id, values: planToForm(plan), errors: {}, affects })
    })
    .post('/plans/:id', async (c) => {
      const id = c.req.param('id')
      const values = await formValues(c)
      const parsed = planPatchSchema.safeParse(formToPlanBody(values, { withId: false }))
      const errors = parsed.success ? {} : fieldErrors(parsed.error, c.get('lang'))
      if (parsed.success && parsed.data.is_active === false && (await isDefaultPlan(c, id))) {
        errors.is_active = t(c.get('lang'), 'plan_default_locked')
      }
      if (!parsed.success || Object.keys(errors).length > 0) {
        return renderPlanForm(c, { id, values, errors, affects: await subscribersOf(c, id) })
      }
      await changePlan(c, id, parsed.data, 'plan_edit', values.apply === 'now' ? 'now' : 'next')
      return c.redirect('/admin/plans?notice=plan_saved', 303)
    })
    .post('/plans/:id/active', async (c) => {
      const body = await c.req.parseBody()
      const id = c.req.param('id')
      const next = typeof body.new_default_plan_id === 'string' ? body.new_default_plan_id : ''
      if (body.active !== 'on' && next === '' && (await isDefaultPlan(c, id))) {
        // Users who end a paid plan fall back to the default: it goes only with a successor named.
        throw new GatewayError('conflict', t(c.get('lang'), 'plan_default_locked'), {
          param: 'new_default_plan_id',
        })
      }
      const patch = { is_active: body.active === 'on' }
      await changePlan(c, id, patch, 'plan_active', 'now', next === '' ? undefined : next)
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
      await recordAction(c, {
        action: 'plan_order',
        targetUserId: null,
        subject: plans[from]!.id,
        before: plans.map((p) => p.id),
        after: order.map((p) => p.id),
      })
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
        planId: form.kind === 'pack' ? undefined : form.plan_id,
        packId: form.kind === 'pack' ? form.pack_id : undefined,
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
    .get('/webhooks', async (c) => {
      const { db } = c.get('deps').database
      const events = await listRecentWebhookEvents(db, WEBHOOK_ROWS)
      const ids = [...new Set(events.flatMap((e) => (e.object_id ? [e.object_id] : [])))]
      const transactions = await findTransactionsByProviderIds(db, ids)
      return renderWebhooks(
        c,
        events,
        new Map(transactions.map((t) => [t.provider_payment_id!, t])),
      )
    })
    .get('/payments', async (c) => {
      const q = (c.req.query('q') ?? '').trim().slice(0, 200)
      const payment = q ? await findPaymentByAnyId(c.get('deps').database.db, q) : undefined
      if (!payment) {
        throw new GatewayError('not_found', t(c.get('lang'), 'payment_not_found', { id: q }), {
          param: 'q',
        })
      }
      return c.redirect(paymentPath(payment), 303)
    })
    .get('/audit', async (c) =>
      renderAudit(c, await listAudit(c.get('deps').database.db, { limit: AUDIT_ROWS })),
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
  kind: z.enum(['plan_days', 'discount', 'pack']),
  plan_id: z.preprocess(blankIsAbsent, z.string().max(64).optional()),
  pack_id: z.preprocess(blankIsAbsent, z.string().max(64).optional()),
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
  const [codes, redemptions, plans, packs] = await Promise.all([
    listPromoCodes(deps.database.db, PROMO_ROWS),
    listRedemptions(deps.database.db, { limit: PROMO_ROWS }),
    listAllPlans(deps),
    listPacks(deps.database.db, { activeOnly: false }),
  ])
  return { codes, redemptions, plans, packs }
}

/** A transaction by its YooKassa id (payment or refund), else by its own id. */
async function findPaymentByAnyId(db: Db, id: string) {
  return (await findTransactionByProviderId(db, id)) ?? (await findTransaction(db, id))
}

/** The user page of a transaction, at its payment history. */
function paymentPath(tx: { user_id: string; id: string }) {
  return `/admin/users/${encodeURIComponent(tx.user_id)}?tx=${encodeURIComponent(tx.id)}#tx-h`
}

async function isDefaultPlan(c: WebContext, id: string): Promise<boolean> {
  const deps = c.get('deps')
  return (await deps.defaultPlan.fresh(deps.database.db)) === id
}

async function subscribersOf(c: WebContext, planId: string): Promise<number> {
  return (await countLiveSubscriptionsByPlan(c.get('deps').database.db)).get(planId) ?? 0
}

/** What the audit keeps of a plan: the fields an edit changes. */
function planFacts(plan: Plan) {
  const { id, name, price, currency, interval, quotas, features, is_active, display_order } = plan
  return { id, name, price, currency, interval, quotas, features, is_active, display_order }
}

/**
 * A plan edit through the API's service, recorded with the plan before and after. The default
 * plan deactivated with its successor named: both change, and are recorded, in one transaction.
 */
async function changePlan(
  c: WebContext,
  id: string,
  patch: PlanPatch,
  action: string,
  apply: 'next' | 'now' = 'now',
  newDefaultPlanId?: string,
) {
  const deps = c.get('deps')
  const { db } = deps.database
  const before = (await listAllPlans(deps)).find((p) => p.id === id)
  const quotasChange =
    before !== undefined &&
    patch.quotas !== undefined &&
    METRICS.some((m) => (patch.quotas?.[m] ?? null) !== before.quotas[m])
  // Kept before the plan changes: a crash in between leaves subscribers with the limits
  // they already had, never with the new ones early.
  if (quotasChange && apply === 'next') await keepQuotasForCurrentPeriods(db, id, before.quotas)
  if (quotasChange && apply === 'now') await dropKeptQuotas(db, id)
  if (newDefaultPlanId !== undefined) {
    await patchPlan(deps, id, patch, {
      newDefaultPlanId,
      record: (trx, { after, defaultChange }) =>
        recordAction(
          c,
          {
            action,
            targetUserId: null,
            subject: id,
            before: { ...(before && planFacts(before)), default_plan_id: defaultChange?.from },
            after: { ...planFacts(after), default_plan_id: defaultChange?.to },
          },
          trx,
        ),
    })
    return
  }
  const after = await patchPlan(deps, id, patch)
  await recordAction(c, {
    action,
    targetUserId: null,
    subject: id,
    before: before ? planFacts(before) : null,
    after: { ...planFacts(after), ...(quotasChange ? { quotas_apply: apply } : {}) },
  })
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
