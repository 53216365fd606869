import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { z } from 'zod'
import type { PromoCodeRow } from '../../../db/tables.ts'
import type { Deps } from '../../deps.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { requireAdmin } from '../../http/middleware/authenticate.ts'
import { validate } from '../../http/validate.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { createRateLimiter, type RateLimiter } from '../../lib/rate-limit.ts'
import {
  disablePromoCode,
  findPromoCode,
  listPromoCodes,
  listRedemptions,
  type RedemptionView,
} from '../../payments/promo-codes.repo.ts'
import {
  createPromoCode,
  type Redeemed,
  redeemPromoCode,
} from '../../payments/promo-codes.service.ts'
import { createSourceTrust, type SourceTrust } from '../../yookassa/source-address.ts'
import { describe } from '../openapi/describe.ts'

const redeemBody = z.strictObject({ code: z.string().min(1).max(128) })

const createBody = z
  .strictObject({
    /** The operator's own code; a random 16-character code when absent. */
    code: z.string().min(1).max(128).optional(),
    label: z.string().trim().min(1).max(200),
    kind: z.enum(['plan_days', 'discount', 'pack']),
    plan_id: z.string().min(1).max(64).optional(),
    /** The prepaid pack a `pack` code grants. */
    pack_id: z.string().min(1).max(64).optional(),
    days: z.number().int().min(1).max(3660).optional(),
    /** Up to 95: YooKassa takes no payment of nothing, and a receipt needs a price. */
    percent_off: z.number().int().min(1).max(95).optional(),
    /** Absent or null: unlimited. */
    max_uses: z.number().int().min(1).max(1_000_000).nullable().optional(),
    /** Unix seconds. */
    expires_at: z.number().int().positive().nullable().optional(),
  })
  .refine((b) => b.kind !== 'discount' || b.days === undefined, {
    message: 'A discount code gives no days',
    path: ['days'],
  })
  .refine((b) => b.kind !== 'pack' || (b.plan_id ?? b.days ?? b.percent_off) === undefined, {
    message: 'A pack code gives its pack only: no plan_id, days or percent_off',
    path: ['kind'],
  })
  .refine((b) => b.kind === 'pack' || b.pack_id === undefined, {
    message: 'Only a pack code names pack_id',
    path: ['pack_id'],
  })

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  code_id: z.string().min(1).optional(),
  user_id: z.string().min(1).optional(),
})

function codeToJson(row: PromoCodeRow) {
  return {
    id: row.id,
    hint: row.hint,
    label: row.label,
    kind: row.kind,
    plan_id: row.plan_id,
    pack_id: row.pack_id,
    days: row.days,
    percent_off: row.percent_off,
    max_uses: row.max_uses,
    uses: row.uses,
    expires_at: row.expires_at,
    disabled_at: row.disabled_at,
    created_by: row.created_by,
    created_at: row.created_at,
  }
}

function redemptionToJson(row: RedemptionView) {
  return {
    id: row.id,
    code_id: row.code_id,
    user_id: row.user_id,
    redeemed_at: row.redeemed_at,
    kind: row.kind,
    label: row.label,
    hint: row.hint,
    plan_id: row.plan_id,
    days: row.days,
    percent_off: row.percent_off,
    /** A discount: held by this checkout's transaction, or spent by its payment. */
    transaction_id: row.transaction_id,
    spent_at: row.spent_at,
  }
}

interface Guards {
  perUser: RateLimiter
  perAddress: RateLimiter
  trust: SourceTrust
}

/** One set of buckets per app (its deps), shared by the API route and the /billing form. */
const guardsByApp = new WeakMap<object, Guards>()

/**
 * Guessing is bounded: every attempt, right or wrong, takes a token from the
 * user's bucket and from the source address's before the code is looked up;
 * an empty bucket is a 429.
 */
export function takePromoAttempt(deps: Pick<Deps, 'clock' | 'config'>, c: Context, userId: string) {
  let guards = guardsByApp.get(deps)
  if (!guards) {
    guards = {
      perUser: createRateLimiter(deps.clock, deps.config.billing.promoAttemptsPerMinute),
      perAddress: createRateLimiter(
        deps.clock,
        deps.config.billing.promoAttemptsPerMinutePerAddress,
      ),
      trust: createSourceTrust({ trustedIps: [], trustProxy: deps.config.server.trustProxy }),
    }
    guardsByApp.set(deps, guards)
  }
  const source = guards.trust.source(socketAddress(c), c.req.header('x-forwarded-for'))
  if (!guards.perUser.take(userId) || !guards.perAddress.take(source.path)) {
    throw new GatewayError('rate_limit_exceeded', 'Too many promo code attempts, wait a minute', {
      headers: { 'retry-after': '60' },
    })
  }
}

function redeemedToJson(redeemed: Redeemed) {
  switch (redeemed.kind) {
    case 'discount':
      return { kind: 'discount', percent_off: redeemed.percentOff, plan_id: redeemed.planId }
    case 'pack':
      return { kind: 'pack', pack_id: redeemed.packId, valid_until: redeemed.validUntil }
    case 'plan_days':
      return {
        kind: 'plan_days',
        plan_id: redeemed.planId,
        days: redeemed.days,
        paid_until: redeemed.paidUntil,
      }
  }
}

/** /api/v1/billing/promo-codes: a payer redeems a code (takePromoAttempt first) and lists their own. */
export function createPromoCodeRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth)
    .post(
      '/redeem',
      describe({
        summary: 'Redeem a promo code: plan days now, or a discount on the next payment',
        tag: 'billing',
        responses: {
          '200': 'What the code gave',
          '404': 'No such code, or expired',
          '409': 'Used up, redeemed already, or days of another plan than the one paid for',
          '429': 'Too many attempts',
        },
      }),
      validate('json', redeemBody),
      async (c) => {
        const principal = c.get('principal')
        takePromoAttempt(c.get('deps'), c, principal.userId)
        const redeemed = await redeemPromoCode(c.get('deps'), principal, c.req.valid('json').code)
        return c.json(redeemedToJson(redeemed))
      },
    )
    .get(
      '/',
      describe({
        summary: "The caller's redeemed codes",
        tag: 'billing',
        responses: { '200': 'Redemptions, newest first' },
      }),
      async (c) => {
        const rows = await listRedemptions(c.get('deps').database.db, {
          userId: c.get('principal').userId,
          limit: 100,
        })
        return c.json({ data: rows.map(redemptionToJson) })
      },
    )
}

/** /api/v1/billing/admin/promo-codes: create, list and disable codes; list redemptions. */
export function createAdminPromoCodeRoutes(auth: MiddlewareHandler<AppEnv>) {
  return new Hono<AppEnv>()
    .use(auth, requireAdmin())
    .post(
      '/',
      describe({
        summary: 'Create a promo code (admin); the answer is the only time its text is shown',
        tag: 'admin',
        responses: { '201': 'The code and its settings', '404': 'No such plan', '409': 'Exists' },
      }),
      validate('json', createBody),
      async (c) => {
        const body = c.req.valid('json')
        const { code, row } = await createPromoCode(c.get('deps'), c.get('principal'), {
          code: body.code,
          label: body.label,
          kind: body.kind,
          planId: body.plan_id,
          packId: body.pack_id,
          days: body.days,
          percentOff: body.percent_off,
          maxUses: body.max_uses,
          expiresAt: body.expires_at,
        })
        return c.json({ code, ...codeToJson(row) }, 201)
      },
    )
    .get(
      '/',
      describe({
        summary: 'Promo codes, newest first (admin)',
        tag: 'admin',
        responses: { '200': 'Codes' },
      }),
      validate('query', listQuery),
      async (c) => {
        const rows = await listPromoCodes(c.get('deps').database.db, c.req.valid('query').limit)
        return c.json({ data: rows.map(codeToJson) })
      },
    )
    .get(
      '/redemptions',
      describe({
        summary: 'Redemptions, newest first, by code or user (admin)',
        tag: 'admin',
        responses: { '200': 'Redemptions' },
      }),
      validate('query', listQuery),
      async (c) => {
        const q = c.req.valid('query')
        const rows = await listRedemptions(c.get('deps').database.db, {
          codeId: q.code_id,
          userId: q.user_id,
          limit: q.limit,
        })
        return c.json({ data: rows.map(redemptionToJson) })
      },
    )
    .post(
      '/:id/disable',
      describe({
        summary: 'Disable a promo code (admin): no redemption after this',
        tag: 'admin',
        responses: { '200': 'Disabled', '404': 'No such code' },
      }),
      async (c) => {
        const { database, clock } = c.get('deps')
        const id = c.req.param('id')
        if (!(await findPromoCode(database.db, id))) {
          throw new GatewayError('not_found', 'No such promo code')
        }
        await disablePromoCode(database.db, id, nowSeconds(clock))
        return c.json(codeToJson((await findPromoCode(database.db, id))!))
      },
    )
}

function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined // app.request() in tests: no socket
  }
}
