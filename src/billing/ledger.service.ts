// Interface published first so the proxy can be written against it; the lead implements it.
import type { Deps } from '../deps.ts'
import type { Amounts, Metric } from './metrics.ts'
import type { Entitlement } from './entitlements.ts'

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

/**
 * Atomically reserves `amounts` against the entitlement's current period:
 * requests and tokens_input are strict (used + reserved + n <= limit);
 * tokens_output is capped (reserves min(n, what remains), fails only when nothing remains).
 * Any metric short -> nothing changes.
 */
export async function reserve(
  _deps: Deps,
  _entitlement: Entitlement,
  _request: ReserveRequest,
): Promise<ReserveResult> {
  throw new Error('not implemented yet')
}

/**
 * Moves the reservation to `used` with the actual amounts (which may exceed
 * the estimate) and appends billing_usage rows, in one transaction.
 * Idempotent by request id: returns false when there was nothing to settle.
 */
export async function settle(
  _deps: Deps,
  _requestId: string,
  _actual: Amounts,
  _options: { estimated?: boolean } = {},
): Promise<boolean> {
  throw new Error('not implemented yet')
}

/** Returns the reservation. Idempotent by request id: false when there was nothing to release. */
export async function release(_deps: Deps, _requestId: string): Promise<boolean> {
  throw new Error('not implemented yet')
}
