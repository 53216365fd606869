import { z } from 'zod'
import { parseMoney } from '../lib/money.ts'

/**
 * The one plan schema: POST /plans, PATCH /plans/{id} (every field optional),
 * config `plans` (checked at load, synced at start), and `gateway plans import`.
 * It lives in config/ because the config file carries plans and config/ stands
 * below billing/, which reads it. It takes the
 * seed's bodies as they are (the curl body, the Python PlanModel fields), and
 * turns a price given as 990.00 or "990.00" into exact kopecks.
 */

export const PLAN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'))

export const price = z
  .union([z.number(), z.string()], { error: 'must be a number or a decimal string' })
  .transform((value, ctx) => {
    const kopecks = parseMoney(value)
    if (kopecks === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a non-negative amount with at most two decimals',
      })
      return z.NEVER
    }
    return kopecks
  })

export const currency = z
  .string()
  .refine(
    (code) => /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code),
    'must be an ISO 4217 currency code in upper case (RUB, USD, ...)',
  )

/** A limit: a non-negative integer, or null (and absent) for unlimited. */
const limit = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional()

/**
 * In-flight requests per user at once: at least 1 (0 would refuse everything with a
 * retryable 429), null for unlimited, absent for the gateway's quota.defaultMaxConcurrentRequests.
 */
const concurrency = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional()

/** An IANA time zone this runtime knows (Europe/Moscow, UTC), or null (and absent) for UTC. */
const timeZone = z
  .string()
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone })
      return true
    } catch {
      return false
    }
  }, 'must be an IANA time zone such as Europe/Moscow or UTC')
  .nullable()
  .optional()

/** Known metrics only: an unknown one is a 400 naming it (quotas.foo). */
const quotasSchema = z
  .strictObject({
    tokens_input: limit,
    tokens_output: limit,
    requests: limit,
    max_concurrent_requests: concurrency,
    // Rate windows (docs/quotas.md): fixed windows of the minute and of the day in
    // window_time_zone (absent: UTC), each optional.
    requests_per_minute: limit,
    tokens_per_minute: limit,
    requests_per_day: limit,
    tokens_per_day: limit,
    window_time_zone: timeZone,
  })
  .nullable()

const text = (max: number) => z.string().max(max).nullable()

const fields = {
  name: z.string().trim().min(1).max(200),
  name_ru: text(200),
  description: text(2000),
  description_ru: text(2000),
  price,
  currency,
  interval: z.enum(['day', 'week', 'month', 'year']),
  quotas: quotasSchema,
  features: z.array(z.string().trim().min(1).max(100)).max(100),
  is_active: z.boolean(),
  display_order: z.number().int().min(-1_000_000).max(1_000_000),
}

const timestamp = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

export const planCreateSchema = z.strictObject({
  id: z
    .string()
    .regex(PLAN_ID, 'must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric')
    .optional(),
  name: fields.name,
  name_ru: fields.name_ru.optional(),
  description: fields.description.optional(),
  description_ru: fields.description_ru.optional(),
  price: fields.price,
  currency: fields.currency.default('RUB'),
  interval: fields.interval.default('month'),
  quotas: fields.quotas.optional(),
  features: fields.features.default([]),
  is_active: fields.is_active.default(true),
  display_order: fields.display_order.default(0),
  // The seed's PlanModel carries these; created_at is kept (an import keeps history),
  // updated_at is always the time of this write.
  created_at: timestamp.optional(),
  updated_at: timestamp.optional(),
})

/** PATCH: any subset of the fields; quotas are merged per metric (null makes one unlimited). */
export const planPatchSchema = z.strictObject({
  name: fields.name.optional(),
  name_ru: fields.name_ru.optional(),
  description: fields.description.optional(),
  description_ru: fields.description_ru.optional(),
  price: fields.price.optional(),
  currency: fields.currency.optional(),
  interval: fields.interval.optional(),
  quotas: fields.quotas.optional(),
  features: fields.features.optional(),
  is_active: fields.is_active.optional(),
  display_order: fields.display_order.optional(),
})

/** A config or import entry: the same as POST, but the id is required (upserts are keyed by it). */
export const planSeedSchema = planCreateSchema.extend({ id: planCreateSchema.shape.id.unwrap() })

export type PlanCreate = z.output<typeof planCreateSchema>
export type PlanPatch = z.output<typeof planPatchSchema>
export type PlanSeed = z.output<typeof planSeedSchema>
/** A config or import entry as written (price "990.00", defaults not yet applied). */
export type PlanSeedInput = z.input<typeof planSeedSchema>
