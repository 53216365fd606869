import { type PlanSeed, planSeedSchema } from '../config/plan.schema.ts'
import { nowSeconds } from '../lib/clock.ts'
import { validationError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { seedDefaultPlan } from './default-plan.ts'
import { upsertPack } from './packs.repo.ts'
import { upsertPlans } from './plans.service.ts'

/**
 * Validates plan entries (config `plans`, an imported file) with the same
 * schema as POST /plans. All are checked before anything is written; the
 * error names the entry and field (plans[1].price: ...).
 */
export function parsePlanSeeds(entries: unknown, label = 'plans'): PlanSeed[] {
  if (!Array.isArray(entries)) throw new Error(`${label}: expected an array of plans`)
  return entries.map((entry, index) => {
    const parsed = planSeedSchema.safeParse(entry)
    if (!parsed.success)
      throw new Error(validationError(parsed.error, `${label}[${index}]`).message)
    return parsed.data
  })
}

/**
 * Upserts the plans of gateway.config.ts, at every start and by `gateway plans sync`,
 * then seeds the default plan from billing.defaultPlanId if none is set yet.
 */
export async function syncConfiguredPlans(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
) {
  const result = await upsertPlans(deps, parsePlanSeeds(deps.config.plans))
  if (deps.config.plans.length > 0) {
    deps.logger.info({ ...result }, 'BILLING plans from config synced')
  }
  await seedDefaultPlan(deps)
  // Prepaid packs are sold next to the plans and come from the same file.
  const now = nowSeconds(deps.clock)
  for (const pack of deps.config.packs) await upsertPack(deps.database.db, pack, now)
  return result
}
