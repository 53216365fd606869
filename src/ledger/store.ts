import type { Database } from '../../db/client.ts'
import type { ReservationRow } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'
import { postgresStore } from './store.pg.ts'
import { sqliteStore } from './store.sqlite.ts'
import type { CloseInput, CounterAfter, ReserveInput } from './store.types.ts'

/** Metrics of the ledger's batches, by kind. */
export interface LedgerBatchObserver {
  onBatch?(kind: 'reserve' | 'close', size: number): void
  onRetryAlone?(kind: 'reserve' | 'close', size: number): void
}

/** The ledger's writes that batch: see createLedgerStore. */
export interface LedgerStore {
  /** Reserves (all three counters and the reservation row): the counters after it, or null when some metric refused. */
  reserve(input: ReserveInput): Promise<CounterAfter[] | null>
  /** Settles or releases one reservation: the row it closed, or undefined when it was already closed. */
  close(input: CloseInput): Promise<ReservationRow | undefined>
}

/**
 * Every reservation, settle and release of the process goes through here, and
 * those made in one event-loop turn are written together: on PostgreSQL as
 * one statement each for the reserves and for the closes (store.pg.ts), on
 * SQLite as one transaction each, of two or three statements
 * (store.sqlite.ts); both implement the same DialectStore. Reserves go all or
 * none: a batch that cannot admit every request in full is undone and each
 * request is then decided alone, by the single-reservation rules.
 * At 16 concurrent requests most turns carry several, and a commit (one WAL
 * flush) per batch instead of per request matters twice on PostgreSQL: the
 * flush is work, and a busy user's counter rows stay locked until it ends.
 */
export function createLedgerStore(
  database: Database,
  observe: LedgerBatchObserver = {},
): LedgerStore {
  const observed = (kind: 'reserve' | 'close') => ({
    onBatch: (size: number) => observe.onBatch?.(kind, size),
    onRetryAlone: (size: number) => observe.onRetryAlone?.(kind, size),
  })
  const { db } = database
  const store = database.dialect === 'postgres' ? postgresStore : sqliteStore
  return {
    reserve: createBatcher<ReserveInput, CounterAfter[] | null>({
      all: (inputs) => store.reserveAll(db, inputs),
      one: (input) => store.reserve(db, input),
      ...observed('reserve'),
    }),
    close: createBatcher<CloseInput, ReservationRow | undefined>({
      all: (inputs) => store.close(db, inputs),
      one: async (input) => (await store.close(db, [input]))[0],
      ...observed('close'),
    }),
  }
}
