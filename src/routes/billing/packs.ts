import { Hono } from 'hono'
import { z } from 'zod'
import { listPacks } from '../../billing/packs.repo.ts'
import type { AppEnv } from '../../http/env.ts'
import { formatMoney } from '../../lib/money.ts'
import { describe } from '../openapi/describe.ts'

const PackOnSale = z.object({
  id: z.string(),
  name: z.string(),
  name_ru: z.string().nullable(),
  metric: z.enum(['requests', 'tokens_input', 'tokens_output']),
  amount: z.number().int(),
  price: z.string(),
  currency: z.string(),
  validity_days: z.number().int(),
})

/** GET /api/v1/billing/packs: the prepaid packs on sale, public as the plans are. */
export function createPackRoutes() {
  return new Hono<AppEnv>().get(
    '/',
    describe({
      summary: 'Prepaid packs on sale, by display_order',
      tag: 'billing',
      public: true,
      responses: { '200': { description: 'The packs', json: z.array(PackOnSale) } },
    }),
    async (c) => {
      const packs = await listPacks(c.get('deps').database.db, { activeOnly: true })
      return c.json(
        packs.map((pack) => ({
          id: pack.id,
          name: pack.name,
          name_ru: pack.name_ru,
          metric: pack.metric,
          amount: Number(pack.amount),
          price: formatMoney(Number(pack.price)),
          currency: pack.currency,
          validity_days: pack.validity_days,
        })),
      )
    },
  )
}
