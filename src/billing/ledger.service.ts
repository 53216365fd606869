import type { ReservationRow } from '../../db/tables.ts'
import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { Entitlement } from './entitlements.ts'
import {
  type CounterKey,
  deleteSweptReservations,
  ensureCounters,
  findStaleReservations,
  insertReservation,
  type MetricAsk,
  moveReservation,
  NO_LIMIT,
  readCounters,
  takeReservation,
} from './ledger.repo.ts'
import { type Amounts, METRICS, type Metric, zeroAmounts } from './metrics.ts'

/**
 * The quota ledger. Counters per (subscription, period, metric) hold `used`
 * and `reserved`; a request reserves before it goes upstream and ends in
 * exactly one settle or release, found by its request id. Each step is one
 * short transaction on SQLite and one statement on PostgreSQL, and the steps
 * of one event-loop turn are written together (ledger.writes.ts); none spans
 * an upstream call.
 */

export interface ReserveRequest {
  requestId: string
  /** What the request may use: requests 1, tokens_input the estimate, tokens_output the output reserve. */
  amounts: Amounts
  modelId?: string | null
  chatId?: string | null
}

export type ReserveResult =
  | {
      ok: true
      /** What was actually reserved (tokens_output may be capped at what remained). */
      reserved: Amounts
      /** Remaining per metric after this reservation; null = unlimited. */
      remaining: Record<Metric, number | null>
      periodEnd: number
    }
  | { ok: false; metric: Metric; limit: number; used: number; requested: number; periodEnd: number }

/** Atomically reserves against the entitlement's current period; any metric short -> nothing changes. */
export async function reserve(
  deps: Deps,
  entitlement: Entitlement,
  request: ReserveRequest,
): Promise<ReserveResult> {
  const { subscription, plan } = entitlement
  const key: CounterKey = {
    subscriptionId: subscription.id,
    periodStart: subscription.current_period_start,
  }
  const periodEnd = subscription.current_period_end
  // Asking 0 never refuses (an embedding needs no output even when the output quota is
  // overrun), and an unlimited metric is counted without a check.
  const ask = Object.fromEntries(
    METRICS.map((m) => {
      const n = request.amounts[m]
      const limit = plan.quotas[m]
      return [m, { n, limit: limit === null || n === 0 ? NO_LIMIT : limit }]
    }),
  ) as Record<Metric, MetricAsk>

  for (let attempt = 1; ; attempt++) {
    const rows = await reserveOnce(deps, entitlement, request, key, ask)
    if (rows) {
      const reserved = zeroAmounts()
      const remaining = {} as Record<Metric, number | null>
      for (const row of rows) {
        const limit = plan.quotas[row.metric]
        reserved[row.metric] = Number(row.last_reserved)
        remaining[row.metric] = limit === null ? null : Math.max(0, limit - row.used - row.reserved)
      }
      return { ok: true, reserved, remaining, periodEnd }
    }
    // The database refused atomically; which metric, and by how much, is read afterwards.
    const counters = await readCounters(deps.database.db, key)
    if (counters.length < METRICS.length) {
      // The period's counters are created when the entitlement is loaded; one made
      // elsewhere (or a lost counter row) gets them now, and the reservation runs again.
      await ensureCounters(deps.database.db, key, nowSeconds(deps.clock))
    } else {
      const refused = refusingMetric(counters, ask)
      if (refused) {
        return {
          ok: false,
          metric: refused.metric,
          limit: plan.quotas[refused.metric] ?? 0,
          used: refused.used,
          requested: request.amounts[refused.metric],
          periodEnd,
        }
      }
      // Settles freed room between the refusal and the read: try again.
    }
    if (attempt === 3) throw new Error('the reservation was refused by no metric three times')
  }
}

/** One atomic attempt: the counters after the change, or null when some metric refused. */
async function reserveOnce(
  deps: Deps,
  entitlement: Entitlement,
  request: ReserveRequest,
  key: CounterKey,
  ask: Record<Metric, MetricAsk>,
) {
  const fields = {
    requestId: request.requestId,
    userId: entitlement.userId,
    modelId: request.modelId ?? null,
    chatId: request.chatId ?? null,
    now: nowSeconds(deps.clock),
  }
  return deps.ledger.reserve({ key, ask, fields })
}

/** The first metric whose counter cannot take the ask: the conditions of reserveAll, in JS. */
function refusingMetric(
  counters: Array<{ metric: Metric; used: number; reserved: number }>,
  ask: Record<Metric, MetricAsk>,
) {
  return counters
    .sort((a, b) => METRICS.indexOf(a.metric) - METRICS.indexOf(b.metric))
    .find(({ metric, used, reserved }) => {
      const { n, limit } = ask[metric]
      return metric === 'tokens_output' ? used + reserved >= limit : used + reserved + n > limit
    })
}

/**
 * Moves the reservation to `used` with the actual amounts (which may exceed the
 * estimate: overruns are recorded, never dropped) and appends billing_usage rows,
 * atomically. Idempotent: false when there was nothing left to settle.
 */
export async function settle(
  deps: Deps,
  requestId: string,
  actual: Amounts,
  options: { estimated?: boolean } = {},
): Promise<boolean> {
  return (await closeReservation(deps, requestId, actual, options.estimated ?? false)) !== undefined
}

/** Returns the reservation unused. Idempotent: false when there was nothing to release. */
export async function release(deps: Deps, requestId: string): Promise<boolean> {
  const reservation = await closeReservation(deps, requestId, zeroAmounts(), false)
  // A row the sweeper already zeroed held nothing: this release changed nothing.
  return reservation !== undefined && METRICS.some((m) => Number(reservation[m]) > 0)
}

/** Deletes the reservation, moves its counters by (actual, reserved) and records usage rows. */
function closeReservation(
  deps: Deps,
  requestId: string,
  actual: Amounts,
  estimated: boolean,
): Promise<ReservationRow | undefined> {
  const usageIds: [string, string, string] = [deps.ids.next(), deps.ids.next(), deps.ids.next()]
  return deps.ledger.close({
    requestId,
    actual,
    usageIds,
    estimated,
    now: nowSeconds(deps.clock),
  })
}

/**
 * Returns reservations older than the TTL: they belong to requests whose process
 * died mid-flight (a live request settles long before). The row is not deleted
 * but zeroed: a request that was only slow, not dead, can still settle within
 * another TTL and its usage is recorded (used += actual, nothing un-reserved
 * twice); zeroed rows are forgotten after that. Returns how many it released.
 */
export async function sweepStaleReservations(deps: Deps): Promise<number> {
  const { db } = deps.database
  const now = nowSeconds(deps.clock)
  const ttl = deps.config.quota.reservationTtlSeconds
  await deleteSweptReservations(db, now - 2 * ttl)
  let released = 0
  for (const { request_id } of await findStaleReservations(db, now - ttl, 500)) {
    const swept = await db.transaction().execute(async (trx) => {
      const reservation = await takeReservation(trx, request_id)
      if (!reservation) return false
      await moveReservation(trx, reservation, zeroAmounts(), now)
      await insertReservation(trx, { ...reservation, ...zeroAmounts() })
      return METRICS.some((m) => Number(reservation[m]) > 0)
    })
    if (swept) released++
  }
  if (released > 0) deps.logger.warn({ released }, 'BILLING swept stale quota reservations')
  return released
}
