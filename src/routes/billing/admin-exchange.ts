import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { validate } from '../../http/validate.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { ratesOf } from '../../payments/exchange-rates.repo.ts'
import { setExchangeRate } from '../../payments/exchange-rates.service.ts'
import { monthlyMargin, monthlyMarginToCsv } from '../../payments/margin-monthly.ts'
import { describe } from '../openapi/describe.ts'

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month like 2026-03')
const monthlyQuery = z.strictObject({
  from: month,
  to: month,
  format: z.enum(['json', 'csv']).default('json'),
})
/** Ten years of months at most: the report is one read per call. */
const MAX_MONTHS = 120

/**
 * GET /api/v1/billing/admin/margin/monthly?from=YYYY-MM&to=YYYY-MM[&format=csv]
 * (admin): revenue, upstream cost and margin per month in the shop currency.
 */
export function createMonthlyMarginRoutes() {
  const doc = describe({
    summary:
      'Revenue, upstream cost and margin per month in the shop currency; CSV with format=csv (admin)',
    tag: 'admin',
    responses: { '200': 'The months', '400': 'Bad months', '403': 'Not an admin' },
  })
  return new Hono<AppEnv>().get('/', doc, validate('query', monthlyQuery), async (c) => {
    const { from, to, format } = c.req.valid('query')
    const span = monthIndex(to) - monthIndex(from)
    if (span < 0 || span >= MAX_MONTHS) {
      throw new GatewayError(
        'validation_failed',
        `to must be from the month of from to ${MAX_MONTHS} months later`,
        {
          param: 'to',
        },
      )
    }
    const deps = c.get('deps')
    const report = await monthlyMargin(deps.database.db, deps.config, { from, to })
    if (format === 'json') return c.json(report)
    return c.body(monthlyMarginToCsv(report), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${monthlyCsvName(from, to)}"`,
    })
  })
}

/** A dated file name: margin-monthly-2026-03_2026-04.csv. */
export function monthlyCsvName(from: string, to: string): string {
  return `margin-monthly-${from}_${to}.csv`
}

function monthIndex(text: string): number {
  const [y, m] = text.split('-').map(Number) as [number, number]
  return y * 12 + m - 1
}

const rateBody = z.strictObject({
  date: z.string(),
  rate: z.union([z.string(), z.number()]),
})

/**
 * GET and POST /api/v1/billing/admin/exchange-rates (admin): the shop
 * currency's dated rates, and setting one ({date: "2026-03-01", rate: "92.5"}).
 */
export function createExchangeRateRoutes() {
  return new Hono<AppEnv>()
    .get(
      '/',
      describe({
        summary: 'Dated exchange rates of the shop currency (admin)',
        tag: 'admin',
        responses: { '200': 'The rates' },
      }),
      async (c) => {
        const deps = c.get('deps')
        const rates = await ratesOf(deps.database.db, deps.config.shopCurrency)
        return c.json({
          currency: deps.config.shopCurrency,
          per: deps.config.priceCurrency,
          rates: rates.map((r) => ({
            date: new Date(r.validFrom * 1000).toISOString().slice(0, 10),
            rate_micros: r.rateMicros,
          })),
        })
      },
    )
    .post(
      '/',
      describe({
        summary: 'Set the shop currency rate from a date on (admin)',
        tag: 'admin',
        responses: { '200': 'The rate set', '400': 'Bad date or rate', '403': 'Not an admin' },
      }),
      validate('json', rateBody),
      async (c) => {
        const deps = c.get('deps')
        const body = c.req.valid('json')
        const set = await setExchangeRate(
          deps.database.db,
          { currency: deps.config.shopCurrency, ...body },
          { adminId: c.get('principal').userId, now: nowSeconds(deps.clock) },
        )
        return c.json(set)
      },
    )
}
