import { asGatewayError } from '../../http/errors.ts'
import { insertRefusal } from '../../ledger/request-refusals.repo.ts'
import { nowSeconds } from '../../lib/clock.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'

/**
 * Refusal rows a user may leave per minute, per process: a client hammering a
 * 429 must not turn each refusal into a database write. Past the cap a refusal
 * is only counted (gateway_request_refusals_unrecorded_total); the console
 * still shows the first ones of every minute, which is what an operator reads.
 */
export const REFUSALS_RECORDED_PER_MINUTE = 10

/** Admission's refusals the console lists: no plan (402), not allowed (403), over quota (429). */
const RECORDED_STATUSES = new Set([402, 403, 429])

/** Per process: how many refusals each user has left recorded in the current minute. */
export interface RefusalLog {
  /** Takes one of the user's recorded refusals of the minute `minute`; false past the cap. */
  take(userId: string, minute: number): boolean
}

export function createRefusalLog(perMinute = REFUSALS_RECORDED_PER_MINUTE): RefusalLog {
  let current = -1
  // Cleared each minute: it holds at most the users refused within one minute.
  const counts = new Map<string, number>()
  return {
    take(userId, minute) {
      if (minute !== current) {
        current = minute
        counts.clear()
      }
      const n = counts.get(userId) ?? 0
      if (n >= perMinute) return false
      counts.set(userId, n + 1)
      return true
    },
  }
}

type RecordDeps = Pick<
  PipelineDeps,
  'clock' | 'database' | 'ids' | 'logger' | 'metrics' | 'pendingSettles' | 'refusals'
>

/**
 * Records an admission refusal for the console, off the request's path: the
 * write starts after the answer (setImmediate), tracked under its own key so
 * shutdown waits for it while the user's reservations do not. A failed write
 * is logged and forgotten: the refusal itself was already answered.
 */
export function recordRefusal(
  deps: RecordDeps,
  refusal: {
    userId: string
    requestId: string
    model: string | null
    status: number
    code: string
    message: string
  },
): void {
  if (!RECORDED_STATUSES.has(refusal.status)) return
  const now = nowSeconds(deps.clock)
  if (!deps.refusals.take(refusal.userId, Math.floor(now / 60))) {
    deps.metrics.refusalsUnrecorded.inc()
    return
  }
  const id = deps.ids.next()
  const write = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => insertRefusal(deps.database.db, { ...refusal, id, createdAt: now }))
    .catch((error) =>
      deps.logger.error(
        { err: error, requestId: refusal.requestId, userId: refusal.userId },
        'Recording a refusal for the console failed',
      ),
    )
  deps.pendingSettles.track(`refusal:${refusal.userId}`, write)
}

/** When `error` is an admission refusal (402, 403, 429 in the API's envelope), records it. */
export function recordIfRefusal(
  deps: RecordDeps,
  error: unknown,
  request: { userId: string; requestId: string; model: string | null },
): void {
  const refusal = asGatewayError(error)
  if (!refusal) return
  const { status, code, message } = refusal
  recordRefusal(deps, { ...request, status, code, message })
}
