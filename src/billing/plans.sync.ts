import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { parseMoney } from '../lib/money.ts'
import { findPlan, insertPlan, updatePlan } from './plans.repo.ts'

// Minimal seeding of config plans at start; the plans work replaces this with the shared plan schema.
export async function syncConfiguredPlans(deps: Deps): Promise<void> {
  const now = nowSeconds(deps.clock)
  for (const plan of deps.config.plans) {
    const record = plan as Record<string, unknown>
    const row = {
      name: plan.name,
      name_ru: (record.name_ru as string | undefined) ?? null,
      description: (record.description as string | undefined) ?? null,
      description_ru: (record.description_ru as string | undefined) ?? null,
      price: parseMoney(plan.price) ?? 0,
      currency: plan.currency,
      interval: plan.interval,
      quotas: JSON.stringify(plan.quotas ?? {}),
      features: JSON.stringify(plan.features),
      is_active: record.is_active === false ? 0 : 1,
      display_order: typeof record.display_order === 'number' ? record.display_order : 0,
      updated_at: now,
    }
    if (await findPlan(deps.database.db, plan.id)) await updatePlan(deps.database.db, plan.id, row)
    else await insertPlan(deps.database.db, { id: plan.id, ...row, created_at: now })
  }
  if (deps.config.plans.length > 0) {
    deps.entitlements.invalidate()
    deps.logger.info(
      { plans: deps.config.plans.map((p) => p.id) },
      'BILLING plans from config synced',
    )
  }
}
