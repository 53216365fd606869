import type { PaymentsDeps } from './payments-deps.ts'
import { describeTestPaymentsMode } from './test-payments.ts'

/**
 * Start-up check that the keys point at the intended shop (docs/reference/yookassa.md section 13.10),
 * and the log line that says whether test payments are credited: by default a
 * test shop's payments (all `test: true`) are, a live shop's never are; the
 * setting (yookassa.allowTestPayments, YOOKASSA_ALLOW_TEST_PAYMENTS) overrides.
 * Only logs: YooKassa being unreachable must not stop the gateway from starting.
 */
export async function checkYooKassaShop(
  deps: Pick<PaymentsDeps, 'config' | 'logger' | 'yookassa'>,
): Promise<void> {
  if (!deps.yookassa) return
  const { allowTestPayments } = deps.config.yookassa
  try {
    const me = await deps.yookassa.me()
    deps.logger.info({ test: me.test, status: me.status }, 'BILLING YooKassa shop checked')
    const mode = describeTestPaymentsMode(allowTestPayments, me.test)
    deps.logger.info(
      mode,
      `BILLING YooKassa ${me.test ? 'test' : 'live'} shop: test payments ${mode.testPayments}`,
    )
    if (me.test && allowTestPayments === false) {
      deps.logger.warn(
        'BILLING YooKassa test shop, but test payments are switched off: no payment will be credited',
      )
    }
    if (!me.test && allowTestPayments === true) {
      deps.logger.warn(
        'BILLING YooKassa live shop with test payments switched on: turn it off in production',
      )
    }
    if (me.fiscalization_enabled && !deps.config.yookassa.receipt.enabled) {
      deps.logger.warn(
        'BILLING YooKassa shop has fiscalization on but yookassa.receipt.enabled is off: payments will be refused',
      )
    }
  } catch (error) {
    deps.logger.warn({ err: error }, 'BILLING YooKassa shop check failed (credentials or network)')
    const mode = describeTestPaymentsMode(allowTestPayments, null)
    deps.logger.info(mode, `BILLING YooKassa test payments: ${mode.testPayments}`)
  }
}
