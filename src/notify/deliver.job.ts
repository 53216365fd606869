import { nowSeconds } from '../lib/clock.ts'
import type { NotifyRoomDeps } from './notify-deps.ts'
import { claimOutboxEvent, findDueOutboxEvents, recordOutboxAttempt } from './outbox.repo.ts'
import { SIGNATURE_HEADER, signBody } from './signature.ts'

const BATCH = 50

/**
 * Delivers the outbox's due events (scheduler job). Each row is claimed first (one replica per
 * row), POSTed as JSON, signed; a 2xx ends it, anything else retries with a doubling wait until
 * notifications.maxAttempts, after which the row stays as failed. At least once: a receiver
 * dedupes by the body's `id` (also the x-gateway-event-id header).
 */
export async function deliverOutbox(
  deps: Pick<NotifyRoomDeps, 'config' | 'secrets' | 'clock' | 'database' | 'logger'>,
): Promise<{ delivered: number; retried: number; failed: number }> {
  const counts = { delivered: 0, retried: 0, failed: 0 }
  const { webhookUrl, timeoutMs } = deps.config.notifications
  const secret = deps.secrets.notifyWebhookSecret
  if (!webhookUrl || !secret) return counts
  const db = deps.database.db
  const now = nowSeconds(deps.clock)
  for (const row of await findDueOutboxEvents(db, now, BATCH)) {
    const holdUntil = now + Math.ceil(timeoutMs / 1000) + 5
    if (!(await claimOutboxEvent(db, row.id, now, holdUntil))) continue
    const attempts = row.attempts + 1
    const { status, error } = await post(webhookUrl, timeoutMs, row.id, row.type, row.body, {
      secret,
      now,
    })
    const at = nowSeconds(deps.clock)
    if (status !== null && status >= 200 && status < 300) {
      await recordOutboxAttempt(db, row.id, { attempts, status, error: null, deliveredAt: at })
      counts.delivered++
    } else if (attempts >= deps.config.notifications.maxAttempts) {
      await recordOutboxAttempt(db, row.id, { attempts, status, error, failedAt: at })
      deps.logger.warn({ eventId: row.id, type: row.type, status, error }, 'webhook given up')
      counts.failed++
    } else {
      const retryAt = at + backoffSeconds(deps.config.notifications, attempts)
      await recordOutboxAttempt(db, row.id, { attempts, status, error, retryAt })
      deps.logger.info({ eventId: row.id, type: row.type, status, error, retryAt }, 'webhook retry')
      counts.retried++
    }
  }
  return counts
}

/** The wait after try `attempts` (1-based): base, 2 x base, 4 x base, ... capped at max. */
export function backoffSeconds(
  policy: { backoffBaseSeconds: number; backoffMaxSeconds: number },
  attempts: number,
): number {
  const wait = policy.backoffBaseSeconds * 2 ** Math.min(attempts - 1, 30)
  return Math.min(wait, policy.backoffMaxSeconds)
}

async function post(
  url: string,
  timeoutMs: number,
  id: string,
  type: string,
  body: string,
  signing: { secret: string; now: number },
): Promise<{ status: number | null; error: string | null }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gateway-event-id': id,
        'x-gateway-event-type': type,
        [SIGNATURE_HEADER]: signBody(signing.secret, signing.now, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    // The receiver's answer is not read past its status: drop the body so the socket is freed.
    await response.body?.cancel()
    return { status: response.status, error: response.ok ? null : `HTTP ${response.status}` }
  } catch (error) {
    return { status: null, error: error instanceof Error ? error.message.slice(0, 200) : 'error' }
  }
}
