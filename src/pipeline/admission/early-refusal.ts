import { isServiceKey } from '../../auth/act-as.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Entitlement } from '../../billing/entitlements.ts'
import { holdsPackFor } from '../../ledger/packs/pack-reserve.ts'
import { maxConcurrentRequests } from '../../ledger/quotas.ts'
import { readPeriodUsage } from '../../ledger/usage.service.ts'
import { nowSeconds } from '../../lib/clock.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { entitle } from './entitle.ts'
import { quotaExceeded, tooManyInFlight } from './refusals.ts'

export type EarlyRefusalDeps = Pick<
  PipelineDeps,
  'clock' | 'config' | 'database' | 'metrics' | 'pendingSettles'
>

/**
 * Before a large body (or one of unknown length) is even read: the same early
 * refusal, for the user the credentials name. A service key that leaves its
 * user to the body is checked once the body is parsed (admit), by its user.
 */
export async function refuseBeforeReading(
  caller: Principal,
  deps: EarlyRefusalDeps & Pick<PipelineDeps, 'entitlements'>,
): Promise<void> {
  if (isServiceKey(caller)) return
  await refuseBeforeCounting(await entitle(caller, deps), deps)
}

/**
 * Counting a long prompt costs real time (off the loop, token-pool.ts): before
 * spending it, a request that cannot be admitted whatever its size is refused
 * from the counters, as reserve() would refuse it: no request left, the plan's
 * max_concurrent_requests in flight, or no input token left. The reservation
 * still decides atomically; this read only refuses early, never admits.
 */
export async function refuseBeforeCounting(
  entitlement: Entitlement,
  deps: EarlyRefusalDeps,
): Promise<void> {
  // The user's settles still landing may free quota: the reservation decides after waiting for them.
  if (deps.pendingSettles.has(entitlement.userId)) return
  const { subscription, plan } = entitlement
  const usage = await readPeriodUsage(deps.database.db, subscription, plan)
  const periodEnd = subscription.current_period_end
  for (const metric of ['requests', 'tokens_input'] as const) {
    const { used, reserved, limit, remaining } = usage[metric]
    if (limit !== null && remaining === 0) {
      // A prepaid pack of this metric may fund the request: the reservation decides.
      const now = nowSeconds(deps.clock)
      if (await holdsPackFor(deps.database.db, entitlement.userId, metric, now)) return
      throw quotaExceeded(deps, { metric, requested: 1, used: used + reserved, limit, periodEnd })
    }
  }
  const inFlightLimit = maxConcurrentRequests(plan, deps.config.quota)
  if (inFlightLimit !== null && usage.requests.reserved >= inFlightLimit) {
    throw tooManyInFlight(deps, inFlightLimit)
  }
}
