import { inBatches } from '../../lib/batches.ts'
import { nowSeconds } from '../../lib/clock.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { deleteStoredObjectsBefore } from './stored-objects.repo.ts'

/** Rows per DELETE: short statements, so the ledger's writes never wait long behind one. */
const BATCH = 1_000
/**
 * Batches per run: 100,000 bindings a minute (the jobs' interval), about 30 times the ids of
 * 550 Responses requests a second (a response and two items each); a backlog takes more runs.
 */
const MAX_BATCHES = 100

/**
 * Stored-object bindings are kept storedObjects.retentionDays (30 by default:
 * the upstream keeps a stored response 30 days) and deleted after; an id
 * whose binding is gone is refused as unseen. Safe on several replicas at once.
 */
export async function pruneStoredObjects(
  deps: Pick<PipelineDeps, 'clock' | 'config' | 'database' | 'logger'>,
): Promise<number> {
  const days = deps.config.storedObjects.retentionDays
  const cutoff = nowSeconds(deps.clock) - days * 86_400
  const deleted = await inBatches(
    (size) => deleteStoredObjectsBefore(deps.database.db, cutoff, size),
    {
      size: BATCH,
      max: MAX_BATCHES,
    },
  )
  if (deleted > 0) deps.logger.info({ deleted, days }, 'pruned old stored-object bindings')
  return deleted
}
