import { z } from 'zod'
import { planCreateSchema } from '../../config/plan.schema.ts'

/**
 * The answers' shapes, for the document only: requests are described by the
 * routes' own validators. Each is held to real answers by
 * test/integration/ops.openapi.test.ts, which checks bodies against the served document.
 */

const nullableString = z.string().nullable()
const epochSeconds = z.number().int()
/** Money as the API writes it: a decimal string with two places. */
const money = z
  .string()
  .regex(/^\d+\.\d{2}$/)
  .meta({ examples: ['990.00'] })
const limit = z.number().int().nonnegative().nullable()

export const ErrorEnvelope = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    code: z.string(),
    param: nullableString,
  }),
})

export const Plan = z.object({
  id: z.string(),
  name: z.string(),
  name_ru: nullableString,
  description: nullableString,
  description_ru: nullableString,
  price: z.number().meta({ description: 'In the currency, at most two decimals' }),
  currency: z.string().meta({ examples: ['RUB'] }),
  interval: z.enum(['day', 'week', 'month', 'year']),
  quotas: z
    .object({
      tokens_input: limit.optional(),
      tokens_output: limit.optional(),
      requests: limit.optional(),
      max_concurrent_requests: z.number().int().min(1).nullable().optional().meta({
        description: "In-flight requests per user; null unlimited, absent the gateway's default",
      }),
      requests_per_minute: limit.optional(),
      tokens_per_minute: limit.optional(),
      requests_per_day: limit.optional(),
      tokens_per_day: limit.optional(),
      window_time_zone: z
        .string()
        .optional()
        .meta({
          description: 'The IANA time zone the day windows turn over in; absent UTC',
          examples: ['Europe/Moscow'],
        }),
    })
    .nullable(),
  features: z.array(z.string()),
  is_active: z.boolean(),
  display_order: z.number().int(),
  created_at: epochSeconds,
  updated_at: epochSeconds,
})

export const Subscription = z.object({
  id: z.string(),
  user_id: z.string(),
  plan_id: z.string(),
  status: z.enum(['active', 'past_due', 'canceled', 'expired']),
  current_period_start: epochSeconds,
  current_period_end: epochSeconds,
  cancel_at_period_end: z.boolean(),
  auto_renew: z.boolean(),
  paid_until: epochSeconds.nullable().meta({ description: 'End of the time paid for' }),
  created_at: epochSeconds,
  updated_at: epochSeconds,
})

export const SubscriptionWithPlan = Subscription.extend({ plan: Plan })

export const Transaction = z.object({
  id: z.string(),
  user_id: z.string(),
  plan_id: nullableString,
  kind: z.enum(['payment', 'renewal', 'refund']),
  amount: money,
  currency: z.string(),
  status: z.enum(['pending', 'waiting_for_capture', 'succeeded', 'canceled', 'refunded']),
  refunded_amount: money,
  provider_payment_id: nullableString,
  description: nullableString,
  created_at: epochSeconds,
  updated_at: epochSeconds,
  confirmation_url: nullableString.meta({
    description: "A pending checkout's payment page: where the payer continues to pay",
  }),
  cancellation_reason: nullableString.meta({
    description: "Why a payment was declined (YooKassa's cancellation_details.reason)",
  }),
})

export const TransactionPage = z.object({
  data: z.array(Transaction),
  next_cursor: nullableString,
})

export const Refund = z.object({ refund: Transaction, payment: Transaction })

export const PaymentStarted = z.object({
  transaction_id: z.string(),
  payment_id: z.string(),
  status: z.string(),
  confirmation_url: nullableString,
  amount: money,
  currency: z.string(),
  plan_id: z.string(),
})

const unit = z.string().meta({ description: 'What the numbers count (docs/weights.md)' })
const metricUsage = { used: z.number().int(), limit, remaining: limit }

export const Usage = z.object({
  metric: z.string(),
  unit,
  ...metricUsage,
  reserved: z.number().int(),
  period_start: epochSeconds,
  period_end: epochSeconds,
  token_classes: z.record(z.string(), z.number().int()).optional().meta({
    description:
      'Token metrics: the raw tokens of each class within the total this period (tokens_input: cached_input, cache_write, audio_input; tokens_output: reasoning, audio_output)',
  }),
})

export const UsageCheck = z.object({
  allowed: z.boolean(),
  metric: z.string(),
  unit,
  amount: z.number().int(),
  ...metricUsage,
})

export const Me = z.object({
  user: z.object({ id: z.string(), email: nullableString.optional(), role: z.string() }),
  subscription: Subscription.nullable(),
  plan: Plan.nullable(),
  usage: z.record(z.string(), z.object({ ...metricUsage, unit })),
  token_classes: z
    .object({
      cached_input: z.number().int(),
      cache_write: z.number().int(),
      audio_input: z.number().int(),
      reasoning: z.number().int(),
      audio_output: z.number().int(),
      image_tokens: z.number().int(),
    })
    .optional()
    .meta({ description: 'The raw tokens of each class the upstream reported this period' }),
  packs: z
    .object({
      balance: z.record(z.string(), z.number().int()),
      packs: z.array(
        z.object({
          id: z.string(),
          pack_id: z.string(),
          metric: z.string(),
          amount: z.number().int(),
          remaining: z.number().int(),
          reserved: z.number().int(),
          valid_until: z.number().int(),
          status: z.enum(['active', 'expired', 'refunded', 'used']),
          price: z.number().int(),
          currency: z.string(),
          transaction_id: nullableString,
          created_at: z.number().int(),
        }),
      ),
      history: z.array(
        z.object({
          id: z.string(),
          pack: z.string(),
          kind: z.enum(['credit', 'spend', 'refund', 'expiry']),
          amount: z.number().int(),
          request_id: nullableString,
          created_at: z.number().int(),
        }),
      ),
    })
    .meta({
      description: 'Prepaid packs: spendable balance per metric, each pack, the latest entries',
    }),
})

export const SubscriptionPage = z.object({
  data: z.array(Subscription.extend({ usage: z.looseObject({}) })),
  next_cursor: nullableString,
})

const keyFlags = {
  admin: z.boolean(),
  acts_for_users: z.boolean(),
  expires_at: epochSeconds.nullable(),
}

export const ApiKeyCreated = z.object({
  id: z.string(),
  name: z.string(),
  key: z.string().meta({ description: 'Shown once, here' }),
  created_at: epochSeconds,
  ...keyFlags,
})

export const ApiKeyList = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      prefix: z.string(),
      created_at: epochSeconds,
      last_used_at: epochSeconds.nullable(),
    }),
  ),
})

export const MarginReport = z.looseObject({
  rows: z.array(z.looseObject({ key: z.string().nullable() })),
  totals: z.looseObject({}),
})

/** Named in components.schemas: referenced by name wherever a route uses them. */
export const COMPONENTS = {
  Error: ErrorEnvelope,
  PlanInput: planCreateSchema,
  Plan,
  Subscription,
  Transaction,
  PaymentStarted,
  Usage,
  UsageCheck,
}
