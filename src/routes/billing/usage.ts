import { Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import { ensureLiveSubscription } from '../../billing/subscriptions.service.ts'
import type { Deps } from '../../deps.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { readYourWrites } from '../../http/middleware/read-your-writes.ts'
import { validate } from '../../http/validate.ts'
import { isMetric, METRICS } from '../../ledger/amounts.ts'
import { CLASSES_OF_METRIC, periodClassTotals } from '../../ledger/usage.repo.ts'
import { readPeriodUsage, wouldFit } from '../../ledger/usage.service.ts'
import { unitOf } from '../../pipeline/estimate/weights.ts'
import { describe } from '../openapi/describe.ts'
import { Usage, UsageCheck } from '../openapi/schemas.ts'

const metric = z.enum(METRICS as [string, ...string[]], {
  error: `must be one of ${METRICS.join(', ')}`,
})
const checkBody = z.strictObject({
  metric,
  amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
})

/** The caller's live subscription and its current period's usage, from the counters. */
async function currentUsage(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'defaultPlan' | 'ids' | 'logger'>,
  userId: string,
) {
  const live = await ensureLiveSubscription(deps, userId)
  if (!live) throw new GatewayError('not_found', 'You have no subscription')
  const usage = await readPeriodUsage(deps.database.db, live.subscription, live.plan)
  return { ...live, usage }
}

/** /api/v1/billing/usage: what the caller used and has left in the current period. */
export function createUsageRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth, readYourWrites())
    .post(
      '/check',
      describe({
        summary: 'Would this amount fit? Reserves nothing',
        tag: 'billing',
        responses: {
          '200': { description: 'The answer', json: UsageCheck },
          '404': 'No subscription',
        },
      }),
      validate('json', checkBody),
      async (c) => {
        // Answers only: a check reserves nothing, so its answer can be stale a moment later.
        const { metric, amount } = c.req.valid('json')
        const { usage } = await currentUsage(c.get('deps'), c.get('principal').userId)
        const m = usage[metric as keyof typeof usage]
        return c.json({
          allowed: wouldFit(m, amount),
          metric,
          unit: unitOf(c.get('deps').config, metric),
          amount,
          used: m.used,
          limit: m.limit,
          remaining: m.remaining,
        })
      },
    )
    .get(
      '/:metric',
      describe({
        summary: 'Usage of one metric in the current period',
        tag: 'billing',
        params: z.object({ metric }),
        responses: {
          '200': { description: 'The usage', json: Usage },
          '400': 'Unknown metric (unknown_metric)',
          '404': 'No subscription',
        },
      }),
      async (c) => {
        const name = c.req.param('metric')
        if (!isMetric(name)) {
          throw new GatewayError(
            'unknown_metric',
            `Unknown metric "${name}": one of ${METRICS.join(', ')}`,
            { param: 'metric' },
          )
        }
        const deps = c.get('deps')
        const { userId } = c.get('principal')
        const { subscription, usage } = await currentUsage(deps, userId)
        const shown = CLASSES_OF_METRIC[name]
        // A token metric adds the classes within it, as the upstream reported them (raw tokens).
        const classes =
          shown.length === 0
            ? undefined
            : await periodClassTotals(deps.database.db, {
                userId,
                subscriptionId: subscription.id,
                from: subscription.current_period_start,
              })
        return c.json({
          metric: name,
          unit: unitOf(deps.config, name),
          ...usage[name],
          period_start: subscription.current_period_start,
          period_end: subscription.current_period_end,
          ...(classes && {
            token_classes: Object.fromEntries(shown.map((column) => [column, classes[column]])),
          }),
        })
      },
    )
}
