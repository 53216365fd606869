import type { SubscriptionRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { BillingDeps } from './billing-deps.ts'
import { addInterval } from './periods.ts'
import { type Plan, planFromRow } from './plan.ts'
import { findPlan } from './plans.repo.ts'
import { extendedPaidUntil } from './subscription-changes.ts'
import { findLiveSubscription } from './subscriptions.repo.ts'
import { ensureLiveSubscription } from './subscriptions.service.ts'

/** What the user has now, as the confirmation names it. */
export interface GrantCurrent {
  planId: string
  paidUntil: number | null
}

/**
 * What a grant would do, computed by the same rules as grantPlan, for the
 * console's confirmation step:
 * - extend: same paid plan, paid time grows from `from` to `to`, period and usage kept;
 * - replace: the current plan ends now, `plan` starts with a fresh period and quota;
 * - to_default: the current plan ends now, the user is back on the default plan;
 * - unchanged: the user already has the default plan.
 * `state` names the live subscription looked at (id and version): the grant
 * is refused if it changed before the operator confirmed.
 */
export type GrantPreview = {
  plan: Plan
  periods: number
  current: GrantCurrent | null
  state: string
} & (
  | { kind: 'extend'; from: number; to: number }
  | { kind: 'replace'; paidUntil: number }
  | { kind: 'to_default' }
  | { kind: 'unchanged' }
)

export async function previewGrant(
  deps: Pick<BillingDeps, 'clock' | 'config' | 'database' | 'defaultPlan' | 'ids' | 'logger'>,
  input: { userId: string; planId: string; periods: number },
): Promise<GrantPreview> {
  const row = input.planId === '' ? undefined : await findPlan(deps.database.db, input.planId)
  if (!row) {
    throw new DomainError('validation_failed', 'Choose the plan to grant', { param: 'plan_id' })
  }
  const plan = planFromRow(row)
  // Brought up to date first (rolled over, or back to default) as the user's next request would.
  if (await findLiveSubscription(deps.database.db, input.userId)) {
    await ensureLiveSubscription(deps, input.userId)
  }
  const live = await findLiveSubscription(deps.database.db, input.userId)
  const base = {
    plan,
    periods: input.periods,
    current: live ? { planId: live.plan_id, paidUntil: live.paid_until } : null,
    state: grantState(live),
  }
  const now = nowSeconds(deps.clock)
  if (plan.id === (await deps.defaultPlan.id(deps.database.db))) {
    return { ...base, kind: live?.plan_id === plan.id ? 'unchanged' : 'to_default' }
  }
  if (live && live.plan_id === plan.id && live.paid_until !== null) {
    const from = Math.max(live.paid_until, live.current_period_start)
    return { ...base, kind: 'extend', from, to: extendedPaidUntil(live, plan, input.periods) }
  }
  return { ...base, kind: 'replace', paidUntil: addInterval(now, plan.interval, input.periods) }
}

/** The live subscription as the operator saw it: its id and version, or "none". */
export function grantState(live: SubscriptionRow | undefined): string {
  return live ? `${live.id}:${live.version}` : 'none'
}
