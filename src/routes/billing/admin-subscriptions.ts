import { Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import {
  grantSubscription,
  listSubscriptionsWithUsage,
} from '../../billing/admin-subscriptions.service.ts'
import { planToJson } from '../../billing/plan.ts'
import { subscriptionToJson } from '../../billing/subscription.json.ts'
import type { AppEnv } from '../../http/env.ts'
import { requireAdmin } from '../../http/middleware/authenticate.ts'
import { validate } from '../../http/validate.ts'
import { describe } from '../openapi/describe.ts'
import { SubscriptionPage, SubscriptionWithPlan } from '../openapi/schemas.ts'

const grantBody = z.strictObject({
  user_id: z.string().trim().min(1).max(256),
  plan_id: z.string().min(1).max(64),
  /** How many of the plan's intervals (months for a monthly plan) are given. */
  periods: z.number().int().min(1).max(1200).default(1),
})

const listQuery = z.strictObject({
  user_id: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The last id of the previous page. */
  cursor: z.string().min(1).optional(),
})

/** /api/v1/billing/admin/subscriptions: grant a plan; list subscriptions with usage. */
export function createAdminSubscriptionRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth, requireAdmin())
    .post(
      '/',
      describe({
        summary: 'Grant a plan to a user for N periods (admin)',
        tag: 'admin',
        responses: {
          '201': { description: 'The granted subscription', json: SubscriptionWithPlan },
          '403': 'Not an admin',
          '404': 'No such plan',
        },
      }),
      validate('json', grantBody),
      async (c) => {
        const { user_id, plan_id, periods } = c.req.valid('json')
        const granted = await grantSubscription(c.get('deps'), {
          userId: user_id,
          planId: plan_id,
          periods,
        })
        return c.json(
          {
            ...subscriptionToJson(granted.subscription),
            plan: planToJson(granted.plan, c.get('deps').config.quota),
          },
          201,
        )
      },
    )
    .get(
      '/',
      describe({
        summary: "Users' subscriptions with their current usage, newest first (admin)",
        tag: 'admin',
        responses: {
          '200': { description: 'One page', json: SubscriptionPage },
          '403': 'Not an admin',
        },
      }),
      validate('query', listQuery),
      async (c) => {
        const { user_id, limit, cursor } = c.req.valid('query')
        const page = await listSubscriptionsWithUsage(c.get('deps'), {
          userId: user_id,
          limit,
          cursor,
        })
        return c.json({
          data: page.rows.map(({ subscription, usage }) => ({
            ...subscriptionToJson(subscription),
            usage,
          })),
          next_cursor: page.nextCursor,
        })
      },
    )
}
