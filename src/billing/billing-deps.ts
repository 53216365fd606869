import type { Database } from '../../db/client.ts'
import type { Config } from '../config/schema.ts'
import type { Clock } from '../lib/clock.ts'
import type { Ids } from '../lib/ids.ts'
import type { Logger } from '../lib/logger.ts'
import type { DefaultPlan } from './default-plan.ts'
import type { EntitlementCache } from './entitlement.ts'

/**
 * The collaborators plans, subscriptions and their jobs call, declared here (src/deps.ts
 * composes the rooms' declarations into the app's Deps; no room imports it). Functions take
 * a Pick of these, so the CLI, the jobs and the payments room call them with what they hold.
 */
export interface BillingDeps {
  config: Readonly<Config>
  database: Database
  clock: Clock
  ids: Ids
  logger: Logger
  /** Per-process cache of users' subscriptions and plans (short TTL). */
  entitlements: EntitlementCache
  /** The default plan's id, read through a per-process cache (same bound as entitlements). */
  defaultPlan: DefaultPlan
}
