import { Hono, type MiddlewareHandler } from 'hono'
import { planCreateSchema, planPatchSchema } from '../../billing/plan.schema.ts'
import { planToJson } from '../../billing/plan.ts'
import { createPlan, listActivePlans, patchPlan, removePlan } from '../../billing/plans.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { requireAdmin } from '../../http/middleware/authenticate.ts'
import { validate } from '../../http/validate.ts'

/**
 * /api/v1/billing/plans: the list is public (a pricing page needs no login);
 * writes are for admins. Auth runs before validation, so a stranger learns
 * nothing about the body's shape.
 */
export function createPlanRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const deps = c.get('deps')
      const plans = await listActivePlans(deps)
      return c.json(plans.map((plan) => planToJson(plan, deps.config.quota)))
    })
    .post('/', auth, requireAdmin(), validate('json', planCreateSchema), async (c) => {
      const plan = await createPlan(c.get('deps'), c.req.valid('json'))
      return c.json(planToJson(plan, c.get('deps').config.quota), 201)
    })
    .patch('/:id', auth, requireAdmin(), validate('json', planPatchSchema), async (c) => {
      const plan = await patchPlan(c.get('deps'), c.req.param('id'), c.req.valid('json'))
      return c.json(planToJson(plan, c.get('deps').config.quota))
    })
    .delete('/:id', auth, requireAdmin(), async (c) => {
      await removePlan(c.get('deps'), c.req.param('id'))
      return c.body(null, 204)
    })
}
