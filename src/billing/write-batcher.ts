import type { Kysely, Transaction } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'

export type BatchedWrite<T> = (trx: Transaction<DB>) => Promise<T>

export interface WriteBatcher {
  /** Runs `write` in a transaction shared with the other writes queued in this event-loop turn. */
  run<T>(write: BatchedWrite<T>): Promise<T>
}

/**
 * Group commit for the ledger's settles on SQLite. A commit writes every page
 * the transaction touched to the WAL; the settles of concurrent requests touch
 * the same pages (the counter rows, the tail of billing_usage and its
 * indexes), so committing the settles queued in one event-loop turn together
 * writes those pages once instead of once per request (measured: about 0.3 x
 * less gateway CPU per request at 16 concurrent). Each caller still awaits its
 * own result, after the commit. If the shared transaction fails, every write is
 * retried in a transaction of its own (createBatcher), so writes must be
 * idempotent: settle and release are (by request id).
 */
export function createWriteBatcher(db: Kysely<DB>, onBatch?: (size: number) => void): WriteBatcher {
  const submit = createBatcher<BatchedWrite<unknown>, unknown>({
    all: (writes) =>
      db.transaction().execute(async (trx) => {
        const results: unknown[] = []
        for (const write of writes) results.push(await write(trx))
        return results
      }),
    one: (write) => db.transaction().execute(write),
    onBatch,
  })
  return { run: <T>(write: BatchedWrite<T>) => submit(write) as Promise<T> }
}
