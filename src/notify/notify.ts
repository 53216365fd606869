import type { Db } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { NotifyRoomDeps } from './notify-deps.ts'
import { insertOutboxEvent } from './outbox.repo.ts'

/** The fields every event's body carries; `data` is the event's own. */
export interface OutgoingEvent {
  /** e.g. quota.threshold, renewal.failed, refund.succeeded, upstream.failed */
  type: string
  data: Record<string, unknown>
  /**
   * Set to make the event happen once: a second event with the same key is dropped (e.g.
   * `quota:<subscription>:<period>:<metric>:<percent>`). Omit for events that may repeat.
   */
  dedupeKey?: string
}

export type NotifyDeps = Pick<NotifyRoomDeps, 'config' | 'clock' | 'ids' | 'database'>

/**
 * Records a webhook for the host application to tell a user (e.g. an e-mail at 80 % of a
 * quota). Nothing is recorded while notifications.webhookUrl is unset. Pass `db` = the open
 * transaction when the event belongs to a change: both commit or neither does.
 */
export function notifyUser(
  deps: NotifyDeps,
  userId: string,
  event: OutgoingEvent,
  db: Db = deps.database.db,
): Promise<boolean> {
  return record(deps, db, 'user', { ...event, data: { user_id: userId, ...event.data } })
}

/**
 * Records a webhook for the operator: failed renewals, refunds, and (for the upstream failover
 * code to call) upstream failures, e.g.
 *
 *   await notifyOperator(deps, {
 *     type: 'upstream.failed',
 *     data: { upstream: 'openai', status: 503, error: 'connect timeout' },
 *     dedupeKey: `upstream:openai:${minute}`,   // one alert a minute, not one a request
 *   })
 *
 * Never put a secret, an API key or a card number in `data`: the body goes to another system.
 * Resolves once the row is written (delivery happens later, retried, see deliver.job.ts).
 */
export function notifyOperator(
  deps: NotifyDeps,
  event: OutgoingEvent,
  db: Db = deps.database.db,
): Promise<boolean> {
  return record(deps, db, 'operator', event)
}

async function record(
  deps: NotifyDeps,
  db: Db,
  audience: 'user' | 'operator',
  event: OutgoingEvent,
): Promise<boolean> {
  if (!deps.config.notifications.webhookUrl) return false
  const id = deps.ids.next()
  const now = nowSeconds(deps.clock)
  // The body is frozen here: what is signed and sent later is what happened now.
  const body = JSON.stringify({ id, type: event.type, audience, created_at: now, data: event.data })
  return insertOutboxEvent(db, {
    id,
    type: event.type,
    audience,
    dedupe_key: event.dedupeKey ?? null,
    body,
    created_at: now,
    next_attempt_at: now,
  })
}
