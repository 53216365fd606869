import type { Database } from '../db/client.ts'
import { type ActingUsers, createActingUsers } from './auth/act-as.ts'
import type { LiveKey } from './auth/api-keys.repo.ts'
import { createEntitlementCache, type EntitlementCache } from './billing/entitlements.ts'
import type { Secrets } from './config/load.ts'
import type { Config } from './config/schema.ts'
import { createInstance, type Instance } from './ledger/instance.ts'
import { createLedgerStore, type LedgerBatchObserver, type LedgerStore } from './ledger/store.ts'
import { type Clock, systemClock } from './lib/clock.ts'
import { type Ids, randomIds } from './lib/ids.ts'
import type { Logger } from './lib/logger.ts'
import { createMetrics, type Metrics } from './lib/metrics.ts'
import { modelLabelPatterns } from './lib/model-label.ts'
import { createTtlCache, type TtlCache } from './lib/ttl-cache.ts'
import { createUpstreams, type Upstreams } from './pipeline/upstreams.ts'
import { createYooKassaClient, type YooKassaClient } from './yookassa/client.ts'

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
  /** Per-process cache of live API keys by hash (auth.apiKeyCacheMs). */
  apiKeys: TtlCache<LiveKey>
  /** Trusted service keys acting for the end users requests name (docs/open-webui.md). */
  actingUsers: ActingUsers
  /** Reserves (PostgreSQL), settles and releases, batching those of one event-loop turn. */
  ledger: LedgerStore
  /** This process as its reservations' owner (random id at start, unfinished closes). */
  instance: Instance
  /** One undici Pool per configured upstream. */
  upstreams: Upstreams
  /** null when YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY are not set. */
  yookassa: YooKassaClient | null
}

export interface CreateDepsOptions {
  config: Readonly<Config>
  secrets: Readonly<Secrets>
  database: Database
  logger: Logger
  clock?: Clock
  ids?: Ids
  metrics?: Metrics
  /** Tests point YooKassa and upstreams at loopback fakes through config; these replace whole parts. */
  overrides?: Partial<Pick<Deps, 'upstreams' | 'yookassa' | 'entitlements'>>
}

/** Builds the Deps from configuration: the one place collaborators are constructed. */
export function createDeps(options: CreateDepsOptions): Deps {
  const { config, secrets, database, logger, overrides = {} } = options
  const clock = options.clock ?? systemClock
  const ids = options.ids ?? randomIds
  const metrics = options.metrics ?? createMetrics({ modelPatterns: modelLabelPatterns(config) })
  const base = { config, secrets, database, logger, clock, ids, metrics }
  const observeLedger: LedgerBatchObserver = {
    onBatch: (kind, size) => metrics.ledgerBatchSize.observe({ kind }, size),
    onRetryAlone: (kind) => metrics.ledgerBatchRetries.inc({ kind }),
  }
  return {
    ...base,
    entitlements: overrides.entitlements ?? createEntitlementCache(base),
    apiKeys: createTtlCache<LiveKey>(clock, 10_000),
    actingUsers: createActingUsers(base),
    ledger: createLedgerStore(database, observeLedger),
    instance: createInstance(),
    upstreams: overrides.upstreams ?? createUpstreams(config, secrets),
    yookassa: overrides.yookassa !== undefined ? overrides.yookassa : createYooKassaClient(base),
  }
}
