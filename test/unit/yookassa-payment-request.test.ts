import { describe, expect, it } from 'vitest'
import type { Plan } from '../../src/billing/plan.ts'
import { loadConfig } from '../../src/config/load.ts'
import { buildPaymentRequest, clip } from '../../src/payments/payment-request.ts'
import { paymentBodyToWire } from '../../src/yookassa/client.ts'

const plan: Plan = {
  id: 'pro',
  name: `Профессиональный ${'🚀'.repeat(200)}`,
  name_ru: null,
  description: null,
  description_ru: null,
  price: 99_050,
  currency: 'RUB',
  interval: 'month',
  quotas: { requests: null, tokens_input: null, tokens_output: null },
  features: [],
  is_active: true,
  display_order: 1,
  created_at: 0,
  updated_at: 0,
}

const configWith = (yookassa: Record<string, unknown>) =>
  loadConfig({ file: { yookassa }, env: {} }).config

describe('YooKassa payment request', () => {
  it('keeps the description within 128 characters without splitting a character', () => {
    const request = buildPaymentRequest({
      config: configWith({}),
      plan,
      transactionId: 't1',
      userId: 'u1',
      kind: 'payment',
      email: null,
      returnUrl: 'https://app.example/r',
    })
    const chars = Array.from(request.description)
    expect(chars.length).toBeLessThanOrEqual(128)
    // No lone surrogate: a cut through an emoji would leave half of it.
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(request.description)).toBe(false)
    expect(clip('абв', 2)).toBe('аб')
  })

  it('a renewal charges the saved method without confirmation, saving or receipt without email', () => {
    const request = buildPaymentRequest({
      config: configWith({ autoRenew: true, receipt: { enabled: true } }),
      plan,
      transactionId: 't2',
      userId: 'u1',
      kind: 'renewal',
      email: null,
      paymentMethodId: 'pm-1',
    })
    const wire = paymentBodyToWire(request)
    expect(wire).toMatchObject({
      amount: { value: '990.50', currency: 'RUB' },
      capture: true,
      payment_method_id: 'pm-1',
      metadata: { transaction_id: 't2', user_id: 'u1', plan_id: 'pro', kind: 'renewal' },
    })
    expect(wire).not.toHaveProperty('confirmation')
    expect(wire).not.toHaveProperty('save_payment_method')
    expect(wire).not.toHaveProperty('receipt')
  })

  it('serialises the same stored request to the same body (a replay under the same key must match)', () => {
    const request = buildPaymentRequest({
      config: configWith({ autoRenew: true, receipt: { enabled: true, vatCode: 11 } }),
      plan,
      transactionId: 't3',
      userId: 'u1',
      kind: 'payment',
      email: 'a@example.com',
      returnUrl: 'https://app.example/r',
    })
    const stored = JSON.parse(JSON.stringify({ request })).request
    expect(JSON.stringify(paymentBodyToWire(stored))).toBe(
      JSON.stringify(paymentBodyToWire(request)),
    )
    expect(paymentBodyToWire(request).receipt).toMatchObject({
      items: [{ amount: { value: '990.50', currency: 'RUB' }, vat_code: 11, quantity: 1 }],
    })
  })
})
