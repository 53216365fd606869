import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { validate } from '../../http/validate.ts'
import { parseMoney } from '../../lib/money.ts'
import { refundTransaction } from '../../payments/refund.service.ts'
import { transactionToJson } from '../../payments/transactions.service.ts'
import { describe } from '../openapi/describe.ts'
import { Refund } from '../openapi/schemas.ts'

const refundBody = z
  .strictObject({
    // "400.00" (or 400) for a partial refund; absent for everything that remains.
    amount: z.union([z.string(), z.number()]).optional(),
  })
  .default({})

/**
 * POST /api/v1/billing/admin/transactions/{id}/refund (admin): 201 with the
 * refund transaction and the payment it refunds.
 */
export function createAdminRefundRoutes() {
  const doc = describe({
    summary: 'Refund a payment fully or partly through YooKassa (admin)',
    tag: 'admin',
    responses: {
      '201': { description: 'The refund and the payment it refunds', json: Refund },
      '403': 'Not an admin',
      '404': 'No such transaction',
      '409': 'A refund is already pending',
    },
  })
  return new Hono<AppEnv>().post('/:id/refund', doc, validate('json', refundBody), async (c) => {
    const body = c.req.valid('json')
    let amount: number | undefined
    if (body.amount !== undefined) {
      const parsed = parseMoney(body.amount)
      if (parsed === null || parsed <= 0) {
        throw new GatewayError('validation_failed', 'amount must be a positive sum like "400.00"', {
          param: 'amount',
        })
      }
      amount = parsed
    }
    const { refund, payment } = await refundTransaction(c.get('deps'), {
      transactionId: c.req.param('id'),
      amount,
      adminId: c.get('principal').userId,
    })
    return c.json({ refund: transactionToJson(refund), payment: transactionToJson(payment) }, 201)
  })
}
