import type { Database } from '../db/client.ts'
import type { ActingUsers } from './auth/act-as.ts'
import type { LiveKey } from './auth/api-keys.repo.ts'
import type { DisabledUsers } from './auth/disabled-users.ts'
import type { EntitlementCache } from './billing/entitlements.ts'
import type { Secrets } from './config/load.ts'
import type { Config } from './config/schema.ts'
import type { Instance } from './ledger/instance.ts'
import type { LedgerStore } from './ledger/store.ts'
import type { Clock } from './lib/clock.ts'
import type { Ids } from './lib/ids.ts'
import type { Logger } from './lib/logger.ts'
import type { Metrics } from './lib/metrics.ts'
import type { PendingWrites } from './lib/pending-writes.ts'
import type { TtlCache } from './lib/ttl-cache.ts'
import type { Upstreams } from './pipeline/upstream/upstreams.ts'
import type { YooKassaClient } from './yookassa/client.ts'

/**
 * Everything the app needs, passed in explicitly: only the entries read the
 * environment and build these (createDeps in boot.ts); tests build them with a temp
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
  /** Per-process cache of live API keys by hash (auth.apiKeyCacheMs). */
  apiKeys: TtlCache<LiveKey>
  /** Trusted service keys acting for the end users requests name (docs/open-webui.md). */
  actingUsers: ActingUsers
  /** Per-process cache of which users an operator disabled (auth.apiKeyCacheMs). */
  disabledUsers: DisabledUsers
  /** Reserves (PostgreSQL), settles and releases, batching those of one event-loop turn. */
  ledger: LedgerStore
  /** This process as its reservations' owner (random id at start, unfinished closes). */
  instance: Instance
  /**
   * The proxy's settles and releases still on their way, by user id: the answer
   * leaves first, and the user's own usage reads wait for these (read-your-writes).
   */
  pendingSettles: PendingWrites
  /** One undici Pool per configured upstream. */
  upstreams: Upstreams
  /** null when YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY are not set. */
  yookassa: YooKassaClient | null
}
