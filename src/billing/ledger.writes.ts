import type { Database } from '../../db/client.ts'
import type { ReservationRow } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'
import { closeReservations, reserveInOneStatement, reserveMany } from './ledger.pg.repo.ts'
import {
  type CloseInput,
  type CounterAfter,
  insertReservation,
  type ReserveInput,
  reserveAll,
} from './ledger.repo.ts'
import { closeReservationsInTransaction, reserveManyInTransaction } from './ledger.sqlite.repo.ts'
import { METRICS, type Metric } from './metrics.ts'

type CountersAfter = CounterAfter[]

/** Metrics of the ledger's batches, by kind. */
export interface LedgerBatchObserver {
  onBatch?(kind: 'reserve' | 'close', size: number): void
  onRetryAlone?(kind: 'reserve' | 'close', size: number): void
}

/** The ledger's writes that batch: see createLedgerWrites. */
export interface LedgerWrites {
  /** Reserves (all three counters and the reservation row): the counters after it, or null when some metric refused. */
  reserve(input: ReserveInput): Promise<CountersAfter | null>
  /** Settles or releases one reservation: the row it closed, or undefined when it was already closed. */
  close(input: CloseInput): Promise<ReservationRow | undefined>
}

/**
 * Every reservation, settle and release of the process goes through here, and
 * those made in one event-loop turn are written together: on PostgreSQL as
 * one statement each for the reserves and for the closes (ledger.pg.repo.ts),
 * on SQLite as one transaction each, of two or three statements
 * (ledger.sqlite.repo.ts). Reserves go all or none: a
 * batch that cannot admit every request in full is undone and each request
 * is then decided alone, by the single-reservation rules.
 * At 16 concurrent requests most turns carry several, and a commit (one WAL
 * flush) per batch instead of per request matters twice on PostgreSQL: the
 * flush is work, and a busy user's counter rows stay locked until it ends.
 */
export function createLedgerWrites(
  database: Database,
  observe: LedgerBatchObserver = {},
): LedgerWrites {
  const observed = (kind: 'reserve' | 'close') => ({
    onBatch: (size: number) => observe.onBatch?.(kind, size),
    onRetryAlone: (size: number) => observe.onRetryAlone?.(kind, size),
  })
  const { db } = database
  if (database.dialect !== 'postgres') {
    return {
      reserve: createBatcher<ReserveInput, CountersAfter | null>({
        all: (inputs) =>
          db.transaction().execute(async (trx) => {
            const after = await reserveManyInTransaction(trx, inputs)
            if (!after) throw new Refused() // rolls the batch back; each then runs alone
            return after
          }),
        one: (input) => reserveInTransaction(database, input),
        ...observed('reserve'),
      }),
      close: createBatcher<CloseInput, ReservationRow | undefined>({
        all: (inputs) =>
          db.transaction().execute((trx) => closeReservationsInTransaction(trx, inputs)),
        one: async (input) =>
          (
            await db.transaction().execute((trx) => closeReservationsInTransaction(trx, [input]))
          )[0],
        ...observed('close'),
      }),
    }
  }
  return {
    reserve: createBatcher<ReserveInput, CountersAfter | null>({
      // All or none: a batch some request of which would be refused or capped throws,
      // and then each runs alone (createBatcher), deciding exactly as it always does.
      all: (inputs) => reserveMany(db, inputs),
      one: ({ key, ask, fields }) => reserveInOneStatement(db, key, ask, fields),
      ...observed('reserve'),
    }),
    close: createBatcher<CloseInput, ReservationRow | undefined>({
      all: (inputs) => closeReservations(db, inputs),
      one: async (input) => (await closeReservations(db, [input]))[0],
      ...observed('close'),
    }),
  }
}

/** Thrown inside the SQLite transaction to roll it back when a metric refused. */
class Refused extends Error {}

async function reserveInTransaction(database: Database, { key, ask, fields }: ReserveInput) {
  try {
    return await database.db.transaction().execute(async (trx) => {
      const rows = await reserveAll(trx, key, ask, fields.now)
      if (rows.length < METRICS.length) throw new Refused()
      const amount = (m: Metric) => rows.find((row) => row.metric === m)!.last_reserved
      await insertReservation(trx, {
        request_id: fields.requestId,
        user_id: fields.userId,
        subscription_id: key.subscriptionId,
        period_start: key.periodStart,
        requests: amount('requests'),
        tokens_input: amount('tokens_input'),
        tokens_output: amount('tokens_output'),
        model_id: fields.modelId,
        chat_id: fields.chatId,
        created_at: fields.now,
        owner: fields.owner,
        sent_at: fields.sentAt,
      })
      return rows
    })
  } catch (error) {
    if (error instanceof Refused) return null
    throw error
  }
}
