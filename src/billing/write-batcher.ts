import type { Kysely, Transaction } from 'kysely'
import type { DB } from '../../db/tables.ts'

export type BatchedWrite<T> = (trx: Transaction<DB>) => Promise<T>

export interface WriteBatcher {
  /** Runs `write` in a transaction shared with the other writes queued in this event-loop turn. */
  run<T>(write: BatchedWrite<T>): Promise<T>
}

interface Queued {
  write: BatchedWrite<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * Group commit for the ledger's settles on SQLite. A commit writes every page
 * the transaction touched to the WAL; the settles of concurrent requests touch
 * the same pages (the counter rows, the tail of billing_usage and its
 * indexes), so committing the settles queued in one event-loop turn together
 * writes those pages once instead of once per request (measured: about 0.3 x
 * less gateway CPU per request at 16 concurrent). Each caller still awaits its
 * own result, after the commit. If the shared transaction fails, every write is
 * retried in a transaction of its own, so one bad write cannot sink the others.
 * Writes must be idempotent: settle and release are (by request id).
 */
export function createWriteBatcher(db: Kysely<DB>): WriteBatcher {
  let queue: Queued[] = []

  async function flush() {
    const batch = queue
    queue = []
    try {
      const results = await db.transaction().execute(async (trx) => {
        const out: unknown[] = []
        for (const queued of batch) out.push(await queued.write(trx))
        return out
      })
      for (const [i, queued] of batch.entries()) queued.resolve(results[i])
    } catch {
      for (const queued of batch) {
        await db
          .transaction()
          .execute((trx) => queued.write(trx))
          .then(queued.resolve, queued.reject)
      }
    }
  }

  return {
    run<T>(write: BatchedWrite<T>) {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ write, resolve: resolve as (value: unknown) => void, reject })
      })
    },
  }
}
