import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { validate } from '../../http/validate.ts'
import { listCallerTransactions } from '../../payments/transactions.service.ts'
import { describe } from '../openapi/describe.ts'
import { TransactionPage } from '../openapi/schemas.ts'

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(64).optional(),
  user_id: z.string().min(1).max(256).optional(),
})

/** GET /api/v1/billing/transactions (authenticated): `{data, next_cursor}`, newest first. */
export function createTransactionRoutes() {
  const doc = describe({
    summary: "The caller's transactions, newest first (cursor pagination)",
    tag: 'payments',
    responses: {
      '200': { description: 'One page', json: TransactionPage },
      '403': 'user_id of another user, and not an admin',
    },
  })
  return new Hono<AppEnv>().get('/', doc, validate('query', listQuery), async (c) => {
    const query = c.req.valid('query')
    const result = await listCallerTransactions(c.get('deps'), c.get('principal'), {
      userId: query.user_id,
      limit: query.limit,
      cursor: query.cursor,
    })
    return c.json(result)
  })
}
