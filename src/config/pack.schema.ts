import { z } from 'zod'
import { currency, PLAN_ID, price } from './plan.schema.ts'

/**
 * A prepaid pack on sale (config `packs`, synced at start next to the plans:
 * billing/packs.sync.ts): an amount of one metric in the unit its period quota
 * counts (tokens weighted as docs/weights.md says, requests never), a price
 * (990.00 or "990.00", kept in kopecks) and how long a pack bought stays
 * spendable. docs/quotas.md, "Prepaid packs".
 */
export const packSeedSchema = z.strictObject({
  id: z
    .string()
    .regex(PLAN_ID, 'must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric'),
  name: z.string().trim().min(1).max(200),
  name_ru: z.string().max(200).nullable().default(null),
  metric: z.enum(['requests', 'tokens_input', 'tokens_output']),
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  price,
  currency: currency.default('RUB'),
  validity_days: z.number().int().min(1).max(3660).default(365),
  is_active: z.boolean().default(true),
  display_order: z.number().int().min(-1_000_000).max(1_000_000).default(0),
})

export type PackSeed = z.output<typeof packSeedSchema>
export type PackSeedInput = z.input<typeof packSeedSchema>
