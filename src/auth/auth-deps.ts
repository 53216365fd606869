import type { Database } from '../../db/client.ts'
import type { Secrets } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import type { Clock } from '../lib/clock.ts'
import type { Ids } from '../lib/ids.ts'
import type { Logger } from '../lib/logger.ts'
import type { TtlCache } from '../lib/ttl-cache.ts'
import type { LiveKey } from './api-keys.repo.ts'
import type { DisabledUsers } from './disabled-users.ts'

/**
 * The collaborators authentication calls, declared here (src/deps.ts composes the rooms'
 * declarations into the app's Deps; no room imports it). Functions take a Pick of these.
 */
export interface AuthDeps {
  config: Readonly<Config>
  secrets: Readonly<Secrets>
  database: Database
  clock: Clock
  ids: Ids
  logger: Logger
  /** Per-process cache of live API keys by hash (auth.apiKeyCacheMs). */
  apiKeys: TtlCache<LiveKey>
  /** Disabled users, read at most once per auth.apiKeyCacheMs per user (disabled-users.ts). */
  disabledUsers: DisabledUsers
}
