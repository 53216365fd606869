import { asGatewayError } from '../../http/errors.ts'
import { insertRefusal } from '../../ledger/request-refusals.repo.ts'
import { nowSeconds } from '../../lib/clock.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { RECORDED_STATUSES } from './refusal-cap.ts'

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
