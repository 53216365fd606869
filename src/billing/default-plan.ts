import type { Database } from '../../db/client.ts'
import type { Db } from '../../db/tables.ts'
import type { Config } from '../config/schema.ts'
import { type Clock, nowSeconds } from '../lib/clock.ts'
import type { Logger } from '../lib/logger.ts'
import { insertSettingIfAbsent, readSetting } from './settings.repo.ts'

/**
 * The default plan: what a user without a paid subscription is on, and what a
 * subscription that ends falls back to. A database setting the operator
 * changes in the console (or PUT /admin/default-plan); `billing.defaultPlanId`
 * is only its initial value, written at the first start (seedDefaultPlan).
 *
 * Every reader goes through `id`, which trusts this process's last read for
 * billing.entitlementCacheMs, the bound the plans and subscriptions cached
 * beside it already have: the replica that changes the default forgets its
 * read at once, another replica follows once its read expires.
 */
export interface DefaultPlan {
  /** The default plan's id, as this process last read it (within the bound). `db`: the caller's handle or transaction. */
  id(db: Db): Promise<string>
  /** Read from the database now (and kept for the next `id`). */
  fresh(db: Db): Promise<string>
  /** After this process changed it: the next `id` reads it again. */
  forget(): void
}

// Its collaborators are named here, not picked from BillingDeps: it is one of BillingDeps' fields.
export function createDefaultPlan(deps: { clock: Clock; config: Readonly<Config> }): DefaultPlan {
  let known: { id: string; expiresAt: number } | undefined

  async function fresh(db: Db): Promise<string> {
    // Absent only before the first start seeded it (or in a tool that never starts the gateway).
    const id = (await readSetting(db, 'default_plan_id')) ?? deps.config.billing.defaultPlanId
    const ttlMs = deps.config.billing.entitlementCacheMs
    known = ttlMs > 0 ? { id, expiresAt: deps.clock.now() + ttlMs } : undefined
    return id
  }

  return {
    async id(db) {
      if (known && deps.clock.now() < known.expiresAt) return known.id
      return fresh(db)
    },
    fresh,
    forget() {
      known = undefined
    },
  }
}

/**
 * At every start (and `gateway plans sync`): writes `billing.defaultPlanId` as
 * the default plan if none is set. Once set, the database holds the operator's
 * choice and a different value in the configuration changes nothing (said in the log).
 */
export async function seedDefaultPlan(deps: {
  clock: Clock
  config: Readonly<Config>
  database: Database
  logger: Logger
}): Promise<void> {
  const { db } = deps.database
  const configured = deps.config.billing.defaultPlanId
  if (await insertSettingIfAbsent(db, 'default_plan_id', configured, nowSeconds(deps.clock))) {
    deps.logger.info({ defaultPlanId: configured }, 'BILLING default plan seeded from config')
    return
  }
  const stored = await readSetting(db, 'default_plan_id')
  if (stored !== configured) {
    deps.logger.info(
      { defaultPlanId: stored, configured },
      'BILLING default plan is the one set in the console; billing.defaultPlanId is only its initial value',
    )
  }
}
