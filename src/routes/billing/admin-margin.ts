import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { validate } from '../../http/validate.ts'
import { marginReport, marginToCsv, marginToJson } from '../../payments/margin.service.ts'
import { describe } from '../openapi/describe.ts'
import { MarginReport } from '../openapi/schemas.ts'

const epochSeconds = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const marginQuery = z.strictObject({
  from: epochSeconds,
  to: epochSeconds,
  group_by: z.enum(['user', 'plan', 'model']).default('user'),
  format: z.enum(['json', 'csv']).default('json'),
})

/**
 * GET /api/v1/billing/admin/margin?from=&to=&group_by=user|plan|model[&format=csv]
 * (admin): requests, raw and weighted tokens, upstream cost and earnings over
 * [from, to) in epoch seconds (docs/weights.md).
 */
export function createAdminMarginRoutes() {
  const doc = describe({
    summary:
      'Requests, raw and weighted tokens, upstream cost and earnings over [from, to) per user, plan or model; CSV with format=csv (admin)',
    tag: 'admin',
    responses: {
      '200': {
        description: 'The report',
        json: MarginReport,
        content: { 'text/csv': z.string() },
      },
      '400': 'Bad period or grouping',
      '403': 'Not an admin',
    },
  })
  return new Hono<AppEnv>().get('/', doc, validate('query', marginQuery), async (c) => {
    const { from, to, group_by, format } = c.req.valid('query')
    if (to <= from) {
      throw new GatewayError('validation_failed', 'to must be after from (epoch seconds)', {
        param: 'to',
      })
    }
    const deps = c.get('deps')
    const report = await marginReport(
      deps.database.db,
      group_by,
      { from, to },
      deps.config.priceCurrency,
    )
    if (format === 'json') return c.json(marginToJson(report))
    return c.body(marginToCsv(report), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="margin-${group_by}-${from}-${to}.csv"`,
    })
  })
}
