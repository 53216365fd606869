import type { YooKassaClient } from '../yookassa/client.ts'
import type { PaymentsDeps } from './payments-deps.ts'

/**
 * Are payments YooKassa marks `test: true` credited? A test shop (secret key
 * `test_...`, the way every integration starts) makes nothing but test
 * payments, and a live shop never makes one: so unless the operator decides
 * (yookassa.allowTestPayments or YOOKASSA_ALLOW_TEST_PAYMENTS, true or false),
 * the shop decides, as GET /me reports it.
 *
 * Asked only for a payment that is `test: true`, so a live shop's payments
 * cost no extra call. When /me cannot be read the error propagates: the
 * webhook answers 500 and YooKassa delivers again, rather than a held
 * payment being canceled over a network blip.
 */
export async function testPaymentsAllowed(
  deps: Pick<PaymentsDeps, 'config'>,
  yookassa: YooKassaClient,
): Promise<boolean> {
  const setting = deps.config.yookassa.allowTestPayments
  if (setting !== undefined) return setting
  return (await yookassa.me()).test
}

/** The start-up log's words for the mode in force, given what GET /me said (null: not read). */
export function describeTestPaymentsMode(
  setting: boolean | undefined,
  shopIsTest: boolean | null,
): { testPayments: 'accepted' | 'refused' | 'shop decides'; decidedBy: string } {
  if (setting !== undefined) {
    return {
      testPayments: setting ? 'accepted' : 'refused',
      decidedBy: 'setting (YOOKASSA_ALLOW_TEST_PAYMENTS or yookassa.allowTestPayments)',
    }
  }
  if (shopIsTest === null)
    return {
      testPayments: 'shop decides',
      decidedBy: 'shop (GET /me failed, asked again per test payment)',
    }
  return {
    testPayments: shopIsTest ? 'accepted' : 'refused',
    decidedBy: shopIsTest ? 'shop (a test shop)' : 'shop (a live shop)',
  }
}
