import type { Config } from '../config/schema.ts'
import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { firstIdAt } from '../lib/ids.ts'
import { pruneRefusals } from './request-refusals.repo.ts'
import { pruneBatch, rollUpBatch } from './usage-rollup.repo.ts'
import { pruneWindows } from './windows.repo.ts'

const DAY = 86_400
/**
 * Rows per transaction. On SQLite a batch blocks the event loop while it runs (better-sqlite3 is
 * synchronous): measured on this 2-core machine under load average ~20, a 250-row batch took a
 * median 10-23 ms and a 1,000-row one 49-87 ms (prune, rollup), so 500 keeps a stall short.
 */
export const BATCH_ROWS = 500
/**
 * Batches of each kind per run: 100,000 rows a minute (the jobs' interval) keeps up with
 * 550 requests/s (three rows each); a backlog (the first run on a full database) takes more runs.
 */
const MAX_BATCHES = 200
/**
 * Only rows whose id (UUIDv7, taken just before the settle's transaction) is older than this
 * are rolled up: a settle still committing (a batch being written, a retry) must never land
 * behind the cursor. Far above a transaction's life; also covers clock skew between replicas.
 */
const SETTLE_LAG_MS = 15 * 60_000

export interface RetentionRun {
  rolledUp: number
  pruned: number
  /** Rows the prune looked at and kept (retention, a current period, a pending refund). */
  kept: number
  /** request_refusal rows deleted past the retention. */
  refusalsPruned: number
}

/**
 * The usage history's upkeep, the jobs' entry point (and the storage bench's):
 * 1. rolls billing_usage rows of closed UTC days (and older than SETTLE_LAG_MS)
 *    into billing_usage_daily, BATCH_ROWS at a time in id order;
 * 2. deletes rolled-up rows older than usage.retentionDays whole days, except
 *    those of a live subscription's current period or of a user with a refund
 *    pending, BATCH_ROWS at a time;
 * 3. deletes request_refusal rows older than the same cutoff.
 * Between batches it yields to the event loop, so requests interleave. Safe on
 * several replicas at once (the state row is locked per batch) and idempotent:
 * a second run finds nothing to do. `now` is epoch seconds on the clock the ids
 * come from (the wall clock in production).
 */
export async function rollUpAndPrune(
  deps: Pick<Deps, 'database' | 'logger' | 'metrics'> & { config: Pick<Config, 'usage'> },
  now: number,
  { maxBatches = MAX_BATCHES }: { maxBatches?: number } = {},
): Promise<RetentionRun> {
  const { db } = deps.database
  const today = Math.floor(now / DAY) * DAY
  const run: RetentionRun = { rolledUp: 0, pruned: 0, kept: 0, refusalsPruned: 0 }

  const rollBound = firstIdAt(Math.min(now * 1000 - SETTLE_LAG_MS, today * 1000))
  for (let i = 0; i < maxBatches; i++) {
    const n = await rollUpBatch(db, { idBound: rollBound, limit: BATCH_ROWS, now })
    run.rolledUp += n
    if (n < BATCH_ROWS) break
    await yieldToRequests()
  }

  const days = deps.config.usage.retentionDays
  const cutoff = today - days * DAY
  for (let i = 0; i < maxBatches; i++) {
    const batch = await pruneBatch(db, {
      idBound: firstIdAt(cutoff * 1000),
      cutoff,
      today,
      limit: BATCH_ROWS,
      now,
    })
    run.pruned += batch.deleted
    run.kept += batch.scanned - batch.deleted
    if (batch.scanned < BATCH_ROWS) break
    await yieldToRequests()
  }

  // The console's refusal rows (request_refusal) follow the same retention, by age alone.
  for (let i = 0; i < maxBatches; i++) {
    const n = await pruneRefusals(db, cutoff, BATCH_ROWS)
    run.refusalsPruned += n
    if (n < BATCH_ROWS) break
    await yieldToRequests()
  }
  // Rate windows that are over (windows.repo.ts) go with the same daily job.
  const windowRows = await pruneWindows(db, now)
  if (windowRows > 0) deps.logger.info({ windowRows }, 'pruned rate window counters')

  deps.metrics.usageRolledUp.inc(run.rolledUp)
  deps.metrics.usagePruned.inc(run.pruned)
  if (run.rolledUp > 0 || run.pruned > 0) {
    deps.logger.info({ ...run, retentionDays: days }, 'rolled up and pruned usage rows')
  }
  return run
}

/** The jobs' form: now from the gateway's clock. */
export const runUsageRetention = (deps: Deps) => rollUpAndPrune(deps, nowSeconds(deps.clock))

function yieldToRequests() {
  return new Promise<void>((resolve) => setImmediate(resolve))
}
