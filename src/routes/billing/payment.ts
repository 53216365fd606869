import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { validate } from '../../http/validate.ts'
import { createCheckout } from '../../payments/checkout.service.ts'
import { createPackCheckout } from '../../payments/pack-checkout.service.ts'
import { describe } from '../openapi/describe.ts'
import { PaymentStarted } from '../openapi/schemas.ts'

const paymentBody = z
  .strictObject({
    plan_id: z.string().trim().min(1).max(100).optional(),
    /** A prepaid pack instead of a plan (docs/billing-api.md, "Prepaid packs"). */
    pack_id: z.string().trim().min(1).max(100).optional(),
    // YooKassa takes return_url up to 2048 characters (docs/reference/yookassa.md 2.1). Not trimmed: whitespace
    // anywhere is refused by normalizeReturnUrl rather than silently dropped.
    return_url: z.string().min(1).max(2048),
  })
  .refine((body) => (body.plan_id === undefined) !== (body.pack_id === undefined), {
    message: 'give either plan_id or pack_id',
    path: ['plan_id'],
  })

/** POST /api/v1/billing/payment: starts a YooKassa checkout for a plan (authenticated). */
export function createPaymentRoutes() {
  const doc = describe({
    summary: 'Start a YooKassa payment for a plan or a prepaid pack',
    tag: 'payments',
    // A paid plan of the shipped config and the page the payer comes back to (its host must
    // be PUBLIC_URL's or one of billing.returnHosts).
    body: { example: { plan_id: 'pro', return_url: 'http://localhost:3000/billing/return' } },
    responses: {
      '201': { description: 'Started: send the payer to confirmation_url', json: PaymentStarted },
      '404': 'No such plan',
      '503': 'Billing not configured',
    },
  })
  return new Hono<AppEnv>().post('/', doc, validate('json', paymentBody), async (c) => {
    const body = c.req.valid('json')
    if (body.pack_id !== undefined) {
      const started = await createPackCheckout(c.get('deps'), c.get('principal'), {
        packId: body.pack_id,
        returnUrl: body.return_url,
      })
      return c.json(started, 201)
    }
    const result = await createCheckout(c.get('deps'), c.get('principal'), {
      planId: body.plan_id!,
      returnUrl: body.return_url,
    })
    return c.json(result, 201)
  })
}
