import type { Database } from '../../db/client.ts'
import type { ActingUsers } from '../auth/act-as.ts'
import type { EntitlementCache } from '../billing/entitlements.ts'
import type { Config } from '../config/schema.ts'
import type { Instance } from '../ledger/instance.ts'
import type { LedgerStore } from '../ledger/store.ts'
import type { Clock } from '../lib/clock.ts'
import type { Ids } from '../lib/ids.ts'
import type { Logger } from '../lib/logger.ts'
import type { Metrics } from '../lib/metrics.ts'
import type { PendingWrites } from '../lib/pending-writes.ts'
import type { TtlCache } from '../lib/ttl-cache.ts'
import type { RefusalLog } from './admission/refusal-cap.ts'
import type { Upstreams } from './upstream/upstreams.ts'

/**
 * The collaborators the proxy's stages call, declared by the pipeline itself (src/deps.ts
 * composes the rooms' declarations into the app's Deps; nothing here imports it). Each stage
 * takes a Pick of these naming the ones it uses; the route hands them over, no stage reads
 * them from hono's Context.
 */
export interface PipelineDeps {
  config: Readonly<Config>
  database: Database
  clock: Clock
  ids: Ids
  logger: Logger
  metrics: Metrics
  /** Per-process cache of users' subscriptions and plans (short TTL). */
  entitlements: EntitlementCache
  /** Trusted service keys acting for the end users requests name (docs/open-webui.md). */
  actingUsers: ActingUsers
  /** Reserves, settles and releases, batching those of one event-loop turn. */
  ledger: LedgerStore
  /** This process as its reservations' owner. */
  instance: Instance
  /** The proxy's settles and releases still on their way, by user id (settle.ts). */
  pendingSettles: PendingWrites
  /** Soft-limit webhooks this process already recorded, until their period ends (admission/soft-limits.ts). */
  softLimitsSeen: TtlCache<true>
  /** How many admission refusals each user has left recorded this minute (admission/refusal-log.ts). */
  refusals: RefusalLog
  /** One undici Pool per configured upstream. */
  upstreams: Upstreams
}
