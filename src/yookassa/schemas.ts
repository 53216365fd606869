import { z } from 'zod'
import { parseMoney } from '../lib/money.ts'

/**
 * YooKassa's wire objects as zod schemas (docs/reference/yookassa.md sections 3, 5, 7).
 * Objects are loose: YooKassa adds fields over time and we must not reject a
 * payment because of one. Amounts arrive as "990.00" strings and leave the
 * parser as integer kopecks, so no float ever touches money.
 */

/** An amount inside the gateway: integer minor units plus the ISO currency. */
export interface Money {
  kopecks: number
  currency: string
}

const moneySchema = z
  .object({ value: z.string(), currency: z.string().min(3) })
  .transform((wire, ctx): Money => {
    const kopecks = parseMoney(wire.value)
    if (kopecks === null) {
      ctx.addIssue({ code: 'custom', message: `not a money amount: ${wire.value}` })
      return z.NEVER
    }
    return { kopecks, currency: wire.currency }
  })

/** Metadata values are strings on the wire; anything else is kept as text so matching stays exact. */
const metadataSchema = z
  .record(z.string(), z.unknown())
  .transform((m) =>
    Object.fromEntries(
      Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]),
    ),
  )

const paymentStatusSchema = z.enum(['pending', 'waiting_for_capture', 'succeeded', 'canceled'])
export type PaymentStatus = z.infer<typeof paymentStatusSchema>

export const paymentSchema = z.looseObject({
  id: z.string().min(1),
  status: paymentStatusSchema,
  paid: z.boolean(),
  amount: moneySchema,
  test: z.boolean(),
  refundable: z.boolean().optional(),
  refunded_amount: moneySchema.optional(),
  description: z.string().optional(),
  metadata: metadataSchema.optional(),
  recipient: z
    .looseObject({ account_id: z.string(), gateway_id: z.string().optional() })
    .optional(),
  payment_method: z
    .looseObject({
      type: z.string(),
      id: z.string(),
      saved: z.boolean(),
      status: z.string().optional(),
      title: z.string().optional(),
    })
    .optional(),
  confirmation: z
    .looseObject({ type: z.string(), confirmation_url: z.string().optional() })
    .optional(),
  cancellation_details: z.looseObject({ party: z.string(), reason: z.string() }).optional(),
  created_at: z.string(),
  captured_at: z.string().optional(),
  expires_at: z.string().optional(),
})
export type Payment = z.infer<typeof paymentSchema>

export const refundSchema = z.looseObject({
  id: z.string().min(1),
  payment_id: z.string().min(1),
  status: z.enum(['pending', 'succeeded', 'canceled']),
  amount: moneySchema,
  description: z.string().optional(),
  metadata: metadataSchema.optional(),
  cancellation_details: z.looseObject({ party: z.string(), reason: z.string() }).optional(),
  created_at: z.string(),
})
export type Refund = z.infer<typeof refundSchema>

export const meSchema = z.looseObject({
  account_id: z.string(),
  status: z.string().optional(),
  test: z.boolean(),
  fiscalization_enabled: z.boolean().optional(),
})
export type Me = z.infer<typeof meSchema>

/** Body of every 4xx/5xx (section 7); retry_after is in milliseconds. */
export const errorBodySchema = z.looseObject({
  type: z.literal('error'),
  id: z.string().optional(),
  code: z.string(),
  description: z.string().optional(),
  parameter: z.string().optional(),
  retry_after: z.number().optional(),
})
export type ErrorBody = z.infer<typeof errorBodySchema>

/**
 * A notification is only a hint (section 6.5): we read the event and the
 * object id from it and re-read the object with GET; nothing else is trusted.
 */
export const notificationSchema = z.looseObject({
  type: z.literal('notification'),
  event: z.string().min(1),
  object: z.looseObject({ id: z.string().min(1).max(64) }),
})
export type Notification = z.infer<typeof notificationSchema>
