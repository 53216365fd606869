import { Hono, type MiddlewareHandler } from 'hono'
import { findUser } from '../../auth/users.repo.ts'
import { planToJson } from '../../billing/plan.ts'
import { subscriptionToJson } from '../../billing/subscription.json.ts'
import { ensureLiveSubscription } from '../../billing/subscriptions.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { readYourWrites } from '../../http/middleware/read-your-writes.ts'
import { readUserPacks } from '../../ledger/packs/packs-view.ts'
import { periodClassTotals } from '../../ledger/usage.repo.ts'
import { readPeriodUsage } from '../../ledger/usage.service.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { unitOf } from '../../pipeline/estimate/weights.ts'
import { describe } from '../openapi/describe.ts'
import { Me } from '../openapi/schemas.ts'

/** /api/v1/billing/me: everything a billing page shows, in one answer. */
export function createMeRoutes(auth: MiddlewareHandler<AppEnv>) {
  const doc = describe({
    summary: 'User, subscription, plan and usage in one',
    tag: 'billing',
    responses: { '200': { description: 'Everything a billing page shows', json: Me } },
  })
  return new Hono<AppEnv>().use(auth, readYourWrites()).get('/', doc, async (c) => {
    const deps = c.get('deps')
    const { userId, email, role } = c.get('principal')
    // A service key acting for a user carries no email of its own on most requests: the one
    // stored when the user was first named (auth/act-as.ts) is theirs.
    const stored = email ?? (await findUser(deps.database.db, userId))?.email ?? null
    const user = { id: userId, email: stored, role }
    const live = await ensureLiveSubscription(deps, userId)
    // Prepaid packs are the user's whatever the plan (docs/quotas.md, "Prepaid packs").
    const packs = await readUserPacks(deps.database.db, userId, nowSeconds(deps.clock))
    if (!live) return c.json({ user, subscription: null, plan: null, usage: {}, packs })
    const usage = await readPeriodUsage(deps.database.db, live.subscription, live.plan)
    const classes = await periodClassTotals(deps.database.db, {
      userId,
      subscriptionId: live.subscription.id,
      from: live.subscription.current_period_start,
    })
    return c.json({
      user,
      subscription: subscriptionToJson(live.subscription),
      plan: planToJson(live.plan, deps.config.quota),
      usage: Object.fromEntries(
        Object.entries(usage).map(([metric, { used, limit, remaining }]) => [
          metric,
          { used, limit, remaining, unit: unitOf(deps.config, metric) },
        ]),
      ),
      // The raw tokens of each class the upstream reported this period (docs/metering.md).
      token_classes: classes,
      packs,
    })
  })
}
