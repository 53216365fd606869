import { Hono, type MiddlewareHandler } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { createAdminDefaultPlanRoutes } from './admin-default-plan.ts'
import { createAdminSubscriptionRoutes } from './admin-subscriptions.ts'
import { createMeRoutes } from './me.ts'
import { createPackRoutes } from './packs.ts'
import { createPlanRoutes } from './plans.ts'
import { createAdminPromoCodeRoutes, createPromoCodeRoutes } from './promo-codes.ts'
import { createSubscriptionRoutes } from './subscription.ts'
import { createUsageRoutes } from './usage.ts'

/**
 * /api/v1/billing: plans, subscription, usage, me, admin subscriptions. Each
 * surface applies `auth` itself (GET /plans is public), so no wildcard
 * middleware here can catch a public route mounted beside these (the webhook).
 */
export function createBillingRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .route('/plans', createPlanRoutes(auth))
    .route('/packs', createPackRoutes())
    .route('/subscription', createSubscriptionRoutes(auth))
    .route('/usage', createUsageRoutes(auth))
    .route('/me', createMeRoutes(auth))
    .route('/admin/subscriptions', createAdminSubscriptionRoutes(auth))
    .route('/admin/default-plan', createAdminDefaultPlanRoutes(auth))
    .route('/promo-codes', createPromoCodeRoutes(auth))
    .route('/admin/promo-codes', createAdminPromoCodeRoutes(auth))
}
