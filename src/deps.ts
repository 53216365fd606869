import type { Database } from '../db/client.ts'
import type { Config } from './config/schema.ts'
import type { Secrets } from './config/load.ts'
import type { Clock } from './lib/clock.ts'
import type { Ids } from './lib/ids.ts'
import type { Logger } from './lib/logger.ts'
import type { Metrics } from './lib/metrics.ts'
import type { EntitlementCache } from './billing/entitlements.ts'
import type { Upstreams } from './pipeline/upstreams.ts'
import type { YooKassaClient } from './yookassa/client.ts'

/**
 * Everything the app needs, passed in explicitly: only main.ts (and the CLI)
 * read the environment and build these; tests build them with a temp
 * database, a test clock and loopback servers for the outside world.
 */
export interface Deps {
  config: Readonly<Config>
  secrets: Readonly<Secrets>
  database: Database
  clock: Clock
  ids: Ids
  logger: Logger
  metrics: Metrics
  /** Per-process cache of users' subscriptions and plans (short TTL). */
  entitlements: EntitlementCache
  /** One undici Pool per configured upstream. */
  upstreams: Upstreams
  /** null when YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY are not set. */
  yookassa: YooKassaClient | null
}
