import type { Db } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { findPlan } from './plans.repo.ts'
import { holdSetting, insertSettingIfAbsent, readSetting, writeSetting } from './settings.repo.ts'

export type DefaultPlanContext = Pick<
  BillingDeps,
  'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'logger'
>

/** The default plan before and after an action (the same id when it stayed). */
export interface DefaultPlanChange {
  from: string
  to: string
}

/**
 * The console's "Make default" and PUT /admin/default-plan: `planId` (an
 * active plan) becomes the plan of new sign-ups and of users whose
 * subscription ends. Users on the former default keep it. `expectedFrom`: the
 * default the operator reviewed; refused (409) if it changed since. `record`
 * runs in the change's transaction (the console's audit record).
 */
export async function makeDefaultPlan(
  ctx: DefaultPlanContext,
  input: {
    planId: string
    expectedFrom?: string
    record?: (trx: Db, change: DefaultPlanChange) => Promise<void>
  },
): Promise<DefaultPlanChange> {
  const change = await ctx.database.db.transaction().execute(async (trx) => {
    const from = await holdDefaultPlan(ctx, trx)
    if (input.expectedFrom !== undefined && input.expectedFrom !== from) {
      throw new DomainError(
        'conflict',
        `The default plan changed since this was reviewed (it is now "${from}"): review it again`,
        { param: 'plan_id' },
      )
    }
    await switchDefault(ctx, trx, { from, to: input.planId }, 'plan_id')
    const change = { from, to: input.planId }
    await input.record?.(trx, change)
    return change
  })
  defaultChanged(ctx, change)
  return change
}

/**
 * Inside the transaction that deactivates or deletes plan `id`: when `id` is
 * the default, refuses (409) unless `newDefaultPlanId` names the active plan to
 * take its place, and then makes it the default in the same transaction.
 * null when `id` is not the default (naming a new default then is refused:
 * the operator's view of which plan is the default is out of date).
 * The caller calls `defaultChanged` after commit.
 */
export async function releaseDefaultPlan(
  ctx: DefaultPlanContext,
  trx: Db,
  id: string,
  newDefaultPlanId: string | undefined,
): Promise<DefaultPlanChange | null> {
  const current = await holdDefaultPlan(ctx, trx)
  const param = 'new_default_plan_id'
  if (current !== id) {
    if (newDefaultPlanId === undefined) return null
    throw new DomainError(
      'conflict',
      `Plan "${id}" is not the default plan ("${current}" is): a new default is named only when deactivating the default`,
      { param },
    )
  }
  if (newDefaultPlanId === undefined) {
    throw new DomainError(
      'conflict',
      `Plan "${id}" is the default plan: name a new default (${param}) to deactivate it`,
      { param },
    )
  }
  if (newDefaultPlanId === id) {
    throw new DomainError('validation_failed', 'The new default must be another plan', { param })
  }
  const change = { from: current, to: newDefaultPlanId }
  await switchDefault(ctx, trx, change, param)
  return change
}

/** After a committed change: this process reads the default again; entitlements of users with none are recomputed. */
export function defaultChanged(ctx: DefaultPlanContext, change: DefaultPlanChange | null) {
  ctx.defaultPlan.forget()
  if (!change || change.from === change.to) return
  ctx.entitlements.invalidate()
  ctx.logger.info({ from: change.from, to: change.to }, 'BILLING default plan changed')
}

/**
 * The default plan as committed, held until the transaction ends: two changes
 * (or a change and a deactivation) wait for each other instead of each deciding
 * on what the other is replacing.
 */
async function holdDefaultPlan(ctx: DefaultPlanContext, trx: Db): Promise<string> {
  // Seeded at start; written here too so a database never started by this version has the row to hold.
  const configured = ctx.config.billing.defaultPlanId
  await insertSettingIfAbsent(trx, 'default_plan_id', configured, nowSeconds(ctx.clock))
  await holdSetting(trx, 'default_plan_id')
  return (await readSetting(trx, 'default_plan_id')) ?? configured
}

async function switchDefault(
  ctx: DefaultPlanContext,
  trx: Db,
  change: DefaultPlanChange,
  param: string,
) {
  const plan = await findPlan(trx, change.to)
  if (!plan) throw new DomainError('not_found', `No plan with id "${change.to}"`, { param })
  if (!plan.is_active) {
    throw new DomainError(
      'conflict',
      `Plan "${change.to}" is inactive: only an active plan can be the default`,
      { param },
    )
  }
  if (change.to !== change.from) {
    await writeSetting(trx, 'default_plan_id', change.to, nowSeconds(ctx.clock))
  }
}
