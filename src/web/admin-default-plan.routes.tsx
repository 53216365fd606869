import { Hono } from 'hono'
import { makeDefaultPlan } from '../billing/default-plan.service.ts'
import { listAllPlans } from '../billing/plans.service.ts'
import { GatewayError } from '../http/errors.ts'
import { recordAction } from './console-audit.ts'
import type { WebEnv } from './env.ts'
import { planName, t } from './i18n.ts'
import { renderDefaultConfirm } from './pages/admin-default-plan.tsx'

/**
 * /admin/plans/:id/default: "Make default" on the plans page. A review page
 * names what changes; its button makes the plan the default through the API's
 * service, with the audit record in the same transaction.
 */
export function createAdminDefaultPlanPages() {
  return new Hono<WebEnv>()
    .get('/plans/:id/default', async (c) => {
      const deps = c.get('deps')
      const lang = c.get('lang')
      const plans = await listAllPlans(deps)
      const plan = plans.find((p) => p.id === c.req.param('id'))
      if (!plan) throw new GatewayError('not_found', `No plan with id "${c.req.param('id')}"`)
      if (!plan.is_active) {
        throw new GatewayError(
          'conflict',
          t(lang, 'default_inactive', { plan: planName(lang, plan) }),
        )
      }
      // The database's answer: what the operator confirms must be what is set now.
      const currentId = await deps.defaultPlan.fresh(deps.database.db)
      const current = plans.find((p) => p.id === currentId) ?? currentId
      return renderDefaultConfirm(c, { plan, current })
    })
    .post('/plans/:id/default', async (c) => {
      const body = await c.req.parseBody()
      const planId = c.req.param('id')
      if (typeof body.from !== 'string' || body.from === '') {
        // Only the review page's button changes the default: a bare POST is a click nobody reviewed.
        throw new GatewayError('validation_failed', t(c.get('lang'), 'default_review_first'), {
          param: 'from',
        })
      }
      await makeDefaultPlan(c.get('deps'), {
        planId,
        expectedFrom: body.from,
        record: (trx, change) =>
          recordAction(
            c,
            {
              action: 'plan_default',
              targetUserId: null,
              subject: planId,
              before: { default_plan_id: change.from },
              after: { default_plan_id: change.to },
            },
            trx,
          ),
      })
      return c.redirect('/admin/plans?notice=default_saved', 303)
    })
}
