import { Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import { planToJson } from '../../billing/plan.ts'
import { createPlan, listActivePlans, patchPlan, removePlan } from '../../billing/plans.service.ts'
import { planCreateSchema, planPatchSchema } from '../../config/plan.schema.ts'
import type { AppEnv } from '../../http/env.ts'
import { requireAdmin } from '../../http/middleware/authenticate.ts'
import { validate } from '../../http/validate.ts'
import { describe } from '../openapi/describe.ts'
import { Plan } from '../openapi/schemas.ts'

/** PATCH's body: the plan's fields, and the next default when the default is deactivated. */
const planPatchBody = planPatchSchema.extend({
  new_default_plan_id: z.string().min(1).max(64).optional(),
})

/**
 * /api/v1/billing/plans: the list is public (a pricing page needs no login);
 * writes are for admins. Auth runs before validation, so a stranger learns
 * nothing about the body's shape.
 */
export function createPlanRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .get(
      '/',
      describe({
        summary: 'Active plans by display_order',
        tag: 'billing',
        public: true,
        responses: { '200': { description: 'The plans', json: z.array(Plan) } },
      }),
      async (c) => {
        const deps = c.get('deps')
        const plans = await listActivePlans(deps)
        return c.json(plans.map((plan) => planToJson(plan, deps.config.quota)))
      },
    )
    .post(
      '/',
      describe({
        summary: 'Create a plan (admin)',
        tag: 'admin',
        responses: {
          '201': { description: 'Created', json: Plan },
          '403': 'Not an admin',
          '409': 'Id taken',
        },
      }),
      auth,
      requireAdmin(),
      validate('json', planCreateSchema),
      async (c) => {
        const plan = await createPlan(c.get('deps'), c.req.valid('json'))
        return c.json(planToJson(plan, c.get('deps').config.quota), 201)
      },
    )
    .patch(
      '/:id',
      describe({
        summary: 'Change a plan (admin)',
        tag: 'admin',
        responses: {
          '200': { description: 'Changed', json: Plan },
          '403': 'Not an admin',
          '404': 'No such plan',
          '409': 'The default plan deactivated without new_default_plan_id',
        },
      }),
      auth,
      requireAdmin(),
      validate('json', planPatchBody),
      async (c) => {
        const { new_default_plan_id, ...patch } = c.req.valid('json')
        const plan = await patchPlan(c.get('deps'), c.req.param('id'), patch, {
          newDefaultPlanId: new_default_plan_id,
        })
        return c.json(planToJson(plan, c.get('deps').config.quota))
      },
    )
    .delete(
      '/:id',
      describe({
        summary: 'Delete a plan; a plan in use is deactivated instead (admin)',
        tag: 'admin',
        responses: {
          '204': 'Deleted or deactivated',
          '403': 'Not an admin',
          '404': 'No such plan',
          '409': 'The default plan (make another plan the default first)',
        },
      }),
      auth,
      requireAdmin(),
      async (c) => {
        await removePlan(c.get('deps'), c.req.param('id'))
        return c.body(null, 204)
      },
    )
}
