import type { Transaction } from 'kysely'
import type { Database } from '../../db/client.ts'
import type { DB, ReservationRow } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'
import {
  type CloseInput,
  closeReservations,
  type ReserveInput,
  reserveInOneStatement,
  reserveMany,
} from './ledger.pg.repo.ts'
import {
  insertReservation,
  insertUsageRows,
  moveCounters,
  reserveAll,
  takeReservation,
} from './ledger.repo.ts'
import { type Amounts, METRICS, type Metric } from './metrics.ts'
import type { WriteBatcher } from './write-batcher.ts'

export type { CloseInput, ReserveInput }

type CountersAfter = NonNullable<Awaited<ReturnType<typeof reserveInOneStatement>>>

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
 * on SQLite the closes as one transaction (group commit, write-batcher.ts;
 * a reserve there is one short synchronous transaction, nothing to gain).
 * At 16 concurrent requests most turns carry several, and a commit (one WAL
 * flush) per batch instead of per request matters twice on PostgreSQL: the
 * flush is work, and a busy user's counter rows stay locked until it ends.
 */
export function createLedgerWrites(
  database: Database,
  writes: WriteBatcher,
  onBatch?: (kind: 'reserve' | 'close', size: number) => void,
): LedgerWrites {
  const { db } = database
  if (database.dialect !== 'postgres') {
    return {
      reserve: (input) => reserveInTransaction(database, input),
      close: (input) => writes.run((trx) => closeInTransaction(trx, input)),
    }
  }
  return {
    reserve: createBatcher<ReserveInput, CountersAfter | null>({
      // All or none: a batch some request of which would be refused or capped throws,
      // and then each runs alone (createBatcher), deciding exactly as it always does.
      all: (inputs) => reserveMany(db, inputs),
      one: ({ key, ask, fields }) => reserveInOneStatement(db, key, ask, fields),
      onBatch: (size) => onBatch?.('reserve', size),
    }),
    close: createBatcher<CloseInput, ReservationRow | undefined>({
      all: (inputs) => closeReservations(db, inputs),
      one: async (input) => (await closeReservations(db, [input]))[0],
      onBatch: (size) => onBatch?.('close', size),
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
      })
      return rows
    })
  } catch (error) {
    if (error instanceof Refused) return null
    throw error
  }
}

async function closeInTransaction(trx: Transaction<DB>, input: CloseInput) {
  const { requestId, actual, usageIds, estimated, now } = input
  const reservation = await takeReservation(trx, requestId)
  if (!reservation) return undefined
  await moveReservation(trx, reservation, actual, now)
  await insertUsageRows(
    trx,
    METRICS.map((metric, i) => ({
      id: usageIds[i]!,
      user_id: reservation.user_id,
      subscription_id: reservation.subscription_id,
      metric,
      amount: actual[metric],
      model_id: reservation.model_id,
      chat_id: reservation.chat_id,
      request_id: requestId,
      estimated: estimated && metric !== 'requests' ? 1 : 0,
      created_at: now,
    })).filter((row) => row.amount > 0),
  )
  return reservation
}

/** Moves a taken reservation's counters: used += actual, reserved -= what it held. */
export async function moveReservation(
  trx: Transaction<DB>,
  reservation: ReservationRow,
  actual: Amounts,
  now: number,
) {
  const key = { subscriptionId: reservation.subscription_id, periodStart: reservation.period_start }
  const reserved = Object.fromEntries(METRICS.map((m) => [m, Number(reservation[m])])) as Amounts
  await moveCounters(trx, key, { used: actual, reserved }, now)
}
