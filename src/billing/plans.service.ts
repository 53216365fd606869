import type { Db, NewPlanRow, PlanRow, PlanUpdate } from '../../db/tables.ts'
import type { PlanCreate, PlanPatch, PlanSeed } from '../config/plan.schema.ts'
import { METRICS } from '../ledger/amounts.ts'
import type { PlanQuotas } from '../ledger/quotas.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import {
  type DefaultPlanChange,
  defaultChanged,
  releaseDefaultPlan,
} from './default-plan.service.ts'
import { type Plan, planFromRow } from './plan.ts'
import {
  deletePlanIfUnused,
  findPlan,
  insertPlanIfAbsent,
  listPlans,
  updatePlan,
} from './plans.repo.ts'

type PlanContext = Pick<
  BillingDeps,
  'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
>
type Quotas = PlanQuotas

/**
 * Every metric present, null = unlimited: the stored quotas JSON. quotas null is a plan
 * without limits, concurrency included; max_concurrent_requests stays absent (the gateway's
 * default) unless given here or before.
 */
function fullQuotas(given: Partial<Quotas> | null | undefined, base?: Quotas): Quotas {
  if (given === null) {
    return {
      ...Object.fromEntries(METRICS.map((m) => [m, null])),
      max_concurrent_requests: null,
    } as Quotas
  }
  const quotas = Object.fromEntries(
    METRICS.map((m) => [m, given?.[m] !== undefined ? given[m] : (base?.[m] ?? null)]),
  ) as Quotas
  const concurrency =
    given?.max_concurrent_requests !== undefined
      ? given.max_concurrent_requests
      : base?.max_concurrent_requests
  if (concurrency !== undefined) quotas.max_concurrent_requests = concurrency
  return quotas
}

/** The columns a validated plan body (POST, config, import) writes; timestamps aside. */
function planColumns(input: PlanCreate | PlanSeed) {
  return {
    name: input.name,
    name_ru: input.name_ru ?? null,
    description: input.description ?? null,
    description_ru: input.description_ru ?? null,
    price: input.price,
    currency: input.currency,
    interval: input.interval,
    quotas: JSON.stringify(fullQuotas(input.quotas)),
    features: JSON.stringify(input.features),
    is_active: input.is_active ? 1 : 0,
    display_order: input.display_order,
  }
}

export async function listActivePlans(ctx: PlanContext): Promise<Plan[]> {
  return (await listPlans(ctx.database.db, { activeOnly: true })).map(planFromRow)
}

export async function listAllPlans(ctx: PlanContext): Promise<Plan[]> {
  return (await listPlans(ctx.database.db, { activeOnly: false })).map(planFromRow)
}

/** POST /plans: 409 when the id is taken; an absent id is generated. */
export async function createPlan(ctx: PlanContext, input: PlanCreate): Promise<Plan> {
  const now = nowSeconds(ctx.clock)
  const row: NewPlanRow = {
    id: input.id ?? ctx.ids.next(),
    ...planColumns(input),
    created_at: input.created_at ?? now,
    updated_at: now,
  }
  if (!(await insertPlanIfAbsent(ctx.database.db, row))) {
    throw new DomainError('conflict', `A plan with id "${row.id}" already exists`, {
      param: 'id',
    })
  }
  return loadPlan(ctx, row.id)
}

/** How a deactivation names the default's successor, and what records it (in its transaction). */
export interface PlanDeactivation {
  /** Required when the plan deactivated is the default: the active plan that takes its place. */
  newDefaultPlanId?: string
  /** The console's audit record: the plan after the change, and the change of default if any. */
  record?: (
    trx: Db,
    result: { after: Plan; defaultChange: DefaultPlanChange | null },
  ) => Promise<void>
}

/**
 * PATCH /plans/{id}: only the given fields change; quotas merge per metric.
 * Deactivating the default plan is refused unless a new default is named, and
 * then both change in one transaction (releaseDefaultPlan).
 */
export async function patchPlan(
  ctx: PlanContext,
  id: string,
  patch: PlanPatch,
  deactivation: PlanDeactivation = {},
): Promise<Plan> {
  const current = await loadPlan(ctx, id)
  const { quotas, features, is_active, ...rest } = patch
  const changes: PlanUpdate = { ...rest, updated_at: nowSeconds(ctx.clock) }
  if (quotas !== undefined) changes.quotas = JSON.stringify(fullQuotas(quotas, current.quotas))
  if (features !== undefined) changes.features = JSON.stringify(features)
  if (is_active !== undefined) changes.is_active = is_active ? 1 : 0
  if (is_active === false) {
    await deactivate(ctx, id, changes, deactivation)
  } else {
    if (deactivation.newDefaultPlanId !== undefined) {
      throw new DomainError(
        'validation_failed',
        'new_default_plan_id names the next default plan, and goes with "is_active": false',
        { param: 'new_default_plan_id' },
      )
    }
    if (!(await updatePlan(ctx.database.db, id, changes))) throw noSuchPlan(id)
  }
  // Limits and features of every subscriber may have changed.
  ctx.entitlements.invalidate()
  return loadPlan(ctx, id)
}

async function deactivate(
  ctx: PlanContext,
  id: string,
  changes: PlanUpdate,
  deactivation: PlanDeactivation,
) {
  const defaultChange = await ctx.database.db.transaction().execute(async (trx) => {
    const defaultChange = await releaseDefaultPlan(ctx, trx, id, deactivation.newDefaultPlanId)
    if (!(await updatePlan(trx, id, changes))) throw noSuchPlan(id)
    const after = await findPlan(trx, id)
    await deactivation.record?.(trx, { after: planFromRow(after!), defaultChange })
    return defaultChange
  })
  defaultChanged(ctx, defaultChange)
}

/**
 * DELETE /plans/{id}: a plan in use (live subscription or payment in flight) is
 * deactivated. The default plan is refused: there is no body to name its successor
 * (PATCH with new_default_plan_id, or PUT /admin/default-plan first).
 */
export async function removePlan(ctx: PlanContext, id: string): Promise<'deleted' | 'deactivated'> {
  const outcome = await ctx.database.db.transaction().execute(async (trx) => {
    await releaseDefaultPlan(ctx, trx, id, undefined)
    if (await deletePlanIfUnused(trx, id)) return 'deleted' as const
    const changed = await updatePlan(trx, id, { is_active: 0, updated_at: nowSeconds(ctx.clock) })
    if (!changed) throw noSuchPlan(id)
    return 'deactivated' as const
  })
  ctx.entitlements.invalidate()
  return outcome
}

/**
 * Upserts plans by id (config sync at start, `plans import`); the caller has
 * validated every entry first. Plain statements, no transaction: each upsert
 * is idempotent, and on SQLite a read-then-write transaction could fail with
 * SQLITE_BUSY when two replicas start together. A plan whose columns are
 * unchanged is not written, so its updated_at stays true.
 */
export async function upsertPlans(ctx: PlanContext, plans: PlanSeed[]) {
  const { db } = ctx.database
  const now = nowSeconds(ctx.clock)
  const result = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] }
  for (const plan of plans) {
    const columns = planColumns(plan)
    const existing = await findPlan(db, plan.id)
    const created_at = plan.created_at ?? now
    if (
      !existing &&
      (await insertPlanIfAbsent(db, { id: plan.id, ...columns, created_at, updated_at: now }))
    ) {
      result.created.push(plan.id)
    } else if (existing && sameColumns(existing, columns)) {
      result.unchanged.push(plan.id)
    } else {
      await updatePlan(db, plan.id, { ...columns, updated_at: now })
      result.updated.push(plan.id)
    }
  }
  if (result.created.length + result.updated.length > 0) ctx.entitlements.invalidate()
  return result
}

function sameColumns(row: PlanRow, columns: ReturnType<typeof planColumns>): boolean {
  return Object.entries(columns).every(
    ([key, value]) =>
      String(row[key as keyof PlanRow]) === String(value) ||
      (key === 'price' && Number(row.price) === value),
  )
}

async function loadPlan(ctx: PlanContext, id: string): Promise<Plan> {
  const row = await findPlan(ctx.database.db, id)
  if (!row) throw noSuchPlan(id)
  return planFromRow(row)
}

function noSuchPlan(id: string) {
  return new DomainError('not_found', `No plan with id "${id}"`, { param: 'id' })
}
