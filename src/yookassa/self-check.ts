import type { Deps } from '../deps.ts'

/**
 * Start-up check that the keys point at the intended shop (reference section 13.10):
 * a test shop's payments all carry `test: true` and are refused unless
 * yookassa.allowTestPayments; a live shop with that flag on is a misconfiguration.
 * Only logs: YooKassa being unreachable must not stop the gateway from starting.
 */
export async function checkYooKassaShop(deps: Deps): Promise<void> {
  if (!deps.yookassa) return
  const { allowTestPayments } = deps.config.yookassa
  try {
    const me = await deps.yookassa.me()
    deps.logger.info({ test: me.test, status: me.status }, 'BILLING YooKassa shop checked')
    if (me.test && !allowTestPayments) {
      deps.logger.warn(
        'BILLING YooKassa test shop, but yookassa.allowTestPayments is off: no payment will be credited',
      )
    }
    if (!me.test && allowTestPayments) {
      deps.logger.warn(
        'BILLING YooKassa live shop with yookassa.allowTestPayments on: turn it off in production',
      )
    }
    if (me.fiscalization_enabled && !deps.config.yookassa.receipt.enabled) {
      deps.logger.warn(
        'BILLING YooKassa shop has fiscalization on but yookassa.receipt.enabled is off: payments will be refused',
      )
    }
  } catch (error) {
    deps.logger.warn({ err: error }, 'BILLING YooKassa shop check failed (credentials or network)')
  }
}
