import type { BillingDeps } from '../billing/billing-deps.ts'
import type { Secrets } from '../config/load.ts'
import type { Metrics } from '../lib/metrics.ts'
import type { YooKassaClient } from '../yookassa/client.ts'

/**
 * The collaborators the payment domain calls, declared here (src/deps.ts composes the rooms'
 * declarations into the app's Deps; no room imports it): billing's, and the shop's client.
 */
export interface PaymentsDeps extends BillingDeps {
  /** The shop's webhook secret and credentials. */
  secrets: Readonly<Secrets>
  metrics: Metrics
  /** null when YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY are not set. */
  yookassa: YooKassaClient | null
}
