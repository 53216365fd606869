import { createDb, type Database } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createActingUsers } from './auth/act-as.ts'
import type { LiveKey } from './auth/api-keys.repo.ts'
import { createDisabledUsers } from './auth/disabled-users.ts'
import { createDefaultPlan } from './billing/default-plan.ts'
import { createEntitlementCache } from './billing/entitlements.ts'
import type { Secrets } from './config/load.ts'
import { type LoadedConfig, loadConfig, readConfigFile } from './config/load.ts'
import type { Config } from './config/schema.ts'
import type { Deps } from './deps.ts'
import { createInstance } from './ledger/instance.ts'
import { createLedgerStore, type LedgerBatchObserver } from './ledger/store.ts'
import { type Clock, systemClock } from './lib/clock.ts'
import { type Ids, randomIds } from './lib/ids.ts'
import { prettyDestination, resolveLogFormat } from './lib/log-format.ts'
import { createLogger, type Logger } from './lib/logger.ts'
import { createMetrics, type Metrics } from './lib/metrics.ts'
import { createPendingWrites } from './lib/pending-writes.ts'
import { createTtlCache } from './lib/ttl-cache.ts'
import { modelLabelPatterns } from './pipeline/admission/model-access.ts'
import { createRefusalLog } from './pipeline/admission/refusal-cap.ts'
import { createUpstreams } from './pipeline/upstream/upstreams.ts'
import { createYooKassaClient } from './yookassa/client.ts'

/**
 * The wiring, imported only by the entries (main.ts, cli.ts, demo/main.ts through
 * start-gateway.ts) and by the tests' harness, which builds the real app the same way.
 */

/** Shared by main.ts and the CLI: read the config file and the environment, once. */
export async function loadFromEnvironment(env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  const file = await readConfigFile(env.GATEWAY_CONFIG ?? './gateway.config.ts')
  return loadConfig({ file, env })
}

/** Opens the database and applies pending migrations, logging what ran. */
export async function openDatabase(loaded: LoadedConfig, logger: Logger): Promise<Database> {
  const database = createDb(loaded.config.database.url)
  const applied = await migrateToLatest(database.db)
  if (applied.length > 0)
    logger.info({ migrations: applied }, `Applied migrations: ${applied.join(', ')}`)
  else logger.info('Database schema is up to date, no migration applied')
  return database
}

/** JSON lines, or pretty colored lines for a person at a terminal (config logFormat, LOG_FORMAT). */
export function createRootLogger(
  loaded: LoadedConfig,
  stdout: { isTTY?: boolean } = process.stdout,
): Logger {
  const isTty = stdout.isTTY === true
  const format = resolveLogFormat(loaded.config.logFormat, isTty)
  const destination = format === 'pretty' ? prettyDestination({ colorize: isTty }) : undefined
  return createLogger(loaded.config.logLevel, destination)
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
  const ledger = createLedgerStore(database, observeLedger)
  const disabledUsers = createDisabledUsers(base)
  const defaultPlan = createDefaultPlan(base)
  return {
    ...base,
    defaultPlan,
    entitlements: overrides.entitlements ?? createEntitlementCache({ ...base, defaultPlan }),
    apiKeys: createTtlCache<LiveKey>(clock, 10_000),
    actingUsers: createActingUsers({ ...base, disabledUsers }),
    disabledUsers,
    ledger,
    instance: createInstance(),
    // A reader of a user's usage must not wait out the window closes may wait in.
    pendingSettles: createPendingWrites(() => ledger.hurry()),
    softLimitsSeen: createTtlCache<true>(clock, 100_000),
    refusals: createRefusalLog(),
    upstreams: overrides.upstreams ?? createUpstreams(config, secrets),
    yookassa: overrides.yookassa !== undefined ? overrides.yookassa : createYooKassaClient(base),
  }
}
