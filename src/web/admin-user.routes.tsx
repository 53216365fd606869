import { Hono } from 'hono'
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys.service.ts'
import type { Principal } from '../auth/principal.ts'
import { setUserDisabled } from '../auth/user-state.service.ts'
import { findUser } from '../auth/users.repo.ts'
import { grantSubscription } from '../billing/admin-subscriptions.service.ts'
import { previewGrant } from '../billing/grant-preview.ts'
import { listAllPlans } from '../billing/plans.service.ts'
import { GatewayError } from '../http/errors.ts'
import { createKeyBody } from '../routes/keys/index.ts'
import { loadBillingView } from './billing-view.ts'
import { recordAction } from './console-audit.ts'
import type { WebContext, WebEnv } from './env.ts'
import { renderGrantConfirm } from './pages/admin-grant.tsx'
import { readOnlyBilling, renderAdminKeyCreated } from './pages/admin-user-actions.tsx'
import { renderBilling } from './pages/billing.tsx'

/**
 * The console's actions on one user: grant (review, then confirm), disable and
 * enable, keys, and their billing page read-only. Every change is recorded in
 * the audit log, in the change's own transaction where it has one.
 */
export function createAdminUserPages() {
  return new Hono<WebEnv>()
    .get('/users/:id/grant', async (c) => {
      const userId = c.req.param('id')
      const input = grantInput(c.req.query('plan_id'), c.req.query('periods'))
      const deps = c.get('deps')
      const [preview, plans] = await Promise.all([
        previewGrant(deps, { userId, ...input }),
        listAllPlans(deps),
      ])
      return renderGrantConfirm(c, { userId, preview, plans })
    })
    .post('/users/:id/grant', async (c) => {
      const body = await c.req.parseBody()
      const userId = c.req.param('id')
      const input = grantInput(body.plan_id, body.periods)
      if (typeof body.expect !== 'string' || body.expect === '') {
        // Only the confirmation page's button grants: a bare POST is a click nobody reviewed.
        throw new GatewayError('validation_failed', 'Review the grant before confirming it', {
          param: 'expect',
        })
      }
      await grantSubscription(c.get('deps'), {
        userId,
        ...input,
        expectState: body.expect,
        record: (trx, before, after) =>
          recordAction(
            c,
            {
              action: 'grant',
              targetUserId: userId,
              subject: input.planId,
              before: before ? subscriptionFacts(before) : null,
              after: { ...subscriptionFacts(after), periods: input.periods },
            },
            trx,
          ),
      })
      return c.redirect(`/admin/users/${encodeURIComponent(userId)}?notice=granted`, 303)
    })
    .post('/users/:id/disable', (c) => setDisabled(c, true))
    .post('/users/:id/enable', (c) => setDisabled(c, false))
    .post('/users/:id/keys', async (c) => {
      const deps = c.get('deps')
      const userId = c.req.param('id')
      const body = await c.req.parseBody()
      const days = typeof body.expires_in_days === 'string' ? body.expires_in_days.trim() : ''
      const parsed = createKeyBody
        .pick({ name: true, expires_in_days: true })
        .safeParse({ name: body.name, expires_in_days: days === '' ? undefined : Number(days) })
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new GatewayError('validation_failed', `${issue?.path.join('.')}: ${issue?.message}`, {
          param: String(issue?.path[0] ?? 'name'),
        })
      }
      const user = await findUser(deps.database.db, userId)
      // The key is the user's own, as plain as one they make themselves: never admin, never a service key.
      const owner: Principal = {
        userId,
        email: user?.email ?? null,
        role: 'user',
        via: { kind: 'session' },
      }
      const created = await createApiKey(deps, owner, {
        name: parsed.data.name,
        expiresInDays: parsed.data.expires_in_days,
      })
      await recordAction(c, {
        action: 'key_create',
        targetUserId: userId,
        subject: created.id,
        before: null,
        after: {
          name: created.name,
          prefix: created.key.slice(0, 10),
          expires_at: created.expires_at,
        },
      })
      return renderAdminKeyCreated(c, { userId, name: created.name, key: created.key })
    })
    .post('/users/:id/keys/:keyId/revoke', async (c) => {
      const deps = c.get('deps')
      const userId = c.req.param('id')
      const keyId = c.req.param('keyId')
      const key = (await listApiKeys(deps, userId)).find((k) => k.id === keyId)
      if (!key || !(await revokeApiKey(deps, userId, keyId))) {
        throw new GatewayError('not_found', 'No such live API key of this user')
      }
      await recordAction(c, {
        action: 'key_revoke',
        targetUserId: userId,
        subject: keyId,
        before: { name: key.name, prefix: key.prefix, expires_at: key.expires_at },
        after: { revoked: true },
      })
      return c.redirect(`/admin/users/${encodeURIComponent(userId)}?notice=key_revoked`, 303)
    })
    .get('/users/:id/billing', async (c) => {
      const deps = c.get('deps')
      const userId = c.req.param('id')
      const user = await findUser(deps.database.db, userId)
      const as: Principal = {
        userId,
        email: user?.email ?? null,
        role: 'user',
        via: { kind: 'session' },
      }
      const page = await renderBilling(c, await loadBillingView(deps, as))
      return readOnlyBilling(c, page, user?.email ?? userId)
    })
}

/** The plan and period count of a grant, from the review's query or the confirmation's form. */
function grantInput(planId: unknown, periodsText: unknown) {
  const periods = Number(periodsText ?? 1)
  if (!Number.isInteger(periods) || periods < 1 || periods > 1200) {
    throw new GatewayError('validation_failed', 'periods must be an integer from 1 to 1200', {
      param: 'periods',
    })
  }
  if (typeof planId !== 'string' || planId === '') {
    throw new GatewayError('validation_failed', 'Choose the plan to grant', { param: 'plan_id' })
  }
  return { planId, periods }
}

function subscriptionFacts(row: {
  id: string
  plan_id: string
  status: string
  current_period_start: number
  current_period_end: number
  paid_until: number | null
}) {
  return {
    subscription: row.id,
    plan: row.plan_id,
    status: row.status,
    period: [Number(row.current_period_start), Number(row.current_period_end)],
    paid_until: row.paid_until === null ? null : Number(row.paid_until),
  }
}

async function setDisabled(c: WebContext, disabled: boolean) {
  const userId = c.req.param('id')!
  const action = disabled ? 'user_disable' : 'user_enable'
  await setUserDisabled(c.get('deps'), {
    userId,
    disabled,
    record: (trx) =>
      recordAction(
        c,
        {
          action,
          targetUserId: userId,
          subject: null,
          before: { disabled: !disabled },
          after: { disabled },
        },
        trx,
      ),
  })
  const notice = disabled ? 'user_disabled' : 'user_enabled'
  return c.redirect(`/admin/users/${encodeURIComponent(userId)}?notice=${notice}`, 303)
}
