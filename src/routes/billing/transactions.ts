import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../../http/env.ts'
import { validate } from '../../http/validate.ts'
import { listCallerTransactions } from '../../payments/transactions.service.ts'

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(64).optional(),
  user_id: z.string().min(1).max(256).optional(),
})

/** GET /api/v1/billing/transactions (authenticated): `{data, next_cursor}`, newest first. */
export function createTransactionRoutes() {
  return new Hono<AppEnv>().get('/', validate('query', listQuery), async (c) => {
    const query = c.req.valid('query')
    const result = await listCallerTransactions(c.get('deps'), c.get('principal'), {
      userId: query.user_id,
      limit: query.limit,
      cursor: query.cursor,
    })
    return c.json(result)
  })
}
