import { Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import { planToJson } from '../../billing/plan.ts'
import { subscriptionToJson } from '../../billing/subscription.json.ts'
import { cancelSubscription } from '../../billing/subscription-cancel.service.ts'
import { resumeSubscription } from '../../billing/subscription-resume.service.ts'
import { ensureLiveSubscription } from '../../billing/subscriptions.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { readYourWrites } from '../../http/middleware/read-your-writes.ts'
import { validate } from '../../http/validate.ts'
import { describe } from '../openapi/describe.ts'
import { Subscription, SubscriptionWithPlan } from '../openapi/schemas.ts'

const cancelBody = z.strictObject({ immediate: z.boolean().default(false) })

/**
 * /api/v1/billing/subscription: the caller's own. Read fresh, not from the
 * entitlement cache: this is where a user checks that a payment took effect.
 */
export function createSubscriptionRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth, readYourWrites())
    .get(
      '/',
      describe({
        summary: "The caller's subscription with its plan",
        tag: 'billing',
        responses: {
          '200': { description: 'The subscription', json: SubscriptionWithPlan },
          '404': 'None',
        },
      }),
      async (c) => {
        const live = await ensureLiveSubscription(c.get('deps'), c.get('principal').userId)
        if (!live) throw new GatewayError('not_found', 'You have no subscription')
        return c.json({
          ...subscriptionToJson(live.subscription),
          plan: planToJson(live.plan, c.get('deps').config.quota),
        })
      },
    )
    .post(
      '/cancel',
      describe({
        summary: 'Cancel now or at period end',
        tag: 'billing',
        responses: { '200': { description: 'The subscription', json: Subscription } },
      }),
      validate('json', cancelBody),
      async (c) => {
        const { immediate } = c.req.valid('json')
        const row = await cancelSubscription(c.get('deps'), c.get('principal').userId, {
          immediate,
        })
        return c.json(subscriptionToJson(row))
      },
    )
    .post(
      '/resume',
      describe({
        summary: 'Take back a cancel at period end while the paid time runs',
        tag: 'billing',
        responses: {
          '200': { description: 'The subscription, set to continue', json: Subscription },
          '400': 'Not set to end, or its paid time has ended',
        },
      }),
      async (c) => {
        const row = await resumeSubscription(c.get('deps'), c.get('principal').userId)
        return c.json(subscriptionToJson(row))
      },
    )
}
