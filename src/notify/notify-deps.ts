import type { Database } from '../../db/client.ts'
import type { Secrets } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import type { Clock } from '../lib/clock.ts'
import type { Ids } from '../lib/ids.ts'
import type { Logger } from '../lib/logger.ts'

/**
 * The collaborators the outgoing webhooks call, declared here (src/deps.ts composes the rooms'
 * declarations into the app's Deps; no room imports it).
 */
export interface NotifyRoomDeps {
  config: Readonly<Config>
  /** The webhook's signing secret (NOTIFY_WEBHOOK_SECRET). */
  secrets: Readonly<Secrets>
  database: Database
  clock: Clock
  ids: Ids
  logger: Logger
}
