import { Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import { makeDefaultPlan } from '../../billing/default-plan.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { requireAdmin } from '../../http/middleware/authenticate.ts'
import { validate } from '../../http/validate.ts'
import { describe } from '../openapi/describe.ts'

const DefaultPlan = z.object({
  plan_id: z
    .string()
    .meta({ description: 'The plan of new users and of users whose subscription ends' }),
})
const DefaultPlanChange = DefaultPlan.extend({
  previous_plan_id: z.string(),
})
const makeDefaultBody = z.strictObject({ plan_id: z.string().min(1).max(64) })

/**
 * /api/v1/billing/admin/default-plan: which plan users without a paid
 * subscription are on. billing.defaultPlanId is only its initial value.
 */
export function createAdminDefaultPlanRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth, requireAdmin())
    .get(
      '/',
      describe({
        summary: 'The default plan (admin)',
        tag: 'admin',
        responses: {
          '200': { description: 'The default plan', json: DefaultPlan },
          '403': 'Not an admin',
        },
      }),
      async (c) => {
        const deps = c.get('deps')
        // The database's answer, not this replica's cached read: an operator checks what they set.
        return c.json({ plan_id: await deps.defaultPlan.fresh(deps.database.db) })
      },
    )
    .put(
      '/',
      describe({
        summary: 'Make an active plan the default (admin)',
        tag: 'admin',
        body: { example: { plan_id: 'free' } },
        responses: {
          '200': { description: 'The default before and after', json: DefaultPlanChange },
          '403': 'Not an admin',
          '404': 'No such plan',
          '409': 'The plan is inactive',
        },
      }),
      validate('json', makeDefaultBody),
      async (c) => {
        const change = await makeDefaultPlan(c.get('deps'), { planId: c.req.valid('json').plan_id })
        return c.json({ plan_id: change.to, previous_plan_id: change.from })
      },
    )
}
