import { inBatches } from '../lib/batches.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { deleteWebhookEventsBefore } from './webhook-events.repo.ts'

/** Rows per DELETE: short statements, so the ledger's writes never wait long behind one. */
const BATCH = 1_000
/** Batches per run: 10,000 rows a minute is far above what YooKassa sends a shop. */
const MAX_BATCHES = 10

/**
 * Stored notifications are audit data, kept yookassa.webhookEventRetentionDays
 * (90 by default) and deleted after. Nothing reads old events to decide
 * anything: a repeat is recognised by the transaction's status, not by them.
 * Safe on several replicas at once (each deletes what is still there).
 */
export async function pruneWebhookEvents(
  deps: Pick<PaymentsDeps, 'clock' | 'config' | 'database' | 'logger'>,
): Promise<number> {
  const days = deps.config.yookassa.webhookEventRetentionDays
  const cutoff = nowSeconds(deps.clock) - days * 86_400
  const deleted = await inBatches(
    (size) => deleteWebhookEventsBefore(deps.database.db, cutoff, size),
    {
      size: BATCH,
      max: MAX_BATCHES,
    },
  )
  if (deleted > 0) deps.logger.info({ deleted, days }, 'pruned old webhook events')
  return deleted
}
