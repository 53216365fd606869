import type { Transaction } from 'kysely'
import type { Database } from '../../db/client.ts'
import type { DB, ReservationRow } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'
import { type CloseInput, closeReservations } from './ledger.pg.repo.ts'
import { insertUsageRows, moveCounters, takeReservation } from './ledger.repo.ts'
import { type Amounts, METRICS } from './metrics.ts'
import type { WriteBatcher } from './write-batcher.ts'

export type { CloseInput }

/** Settles or releases one reservation: the row it closed, or undefined when it was already closed. */
export type CloseReservation = (input: CloseInput) => Promise<ReservationRow | undefined>

/**
 * Every settle and release of the process goes through here, and those made
 * in one event-loop turn are written together: on PostgreSQL as one
 * statement (ledger.pg.repo.ts), on SQLite as one transaction (group commit,
 * write-batcher.ts). At 16 concurrent requests most turns close several, and
 * a commit (one WAL flush) per batch instead of per request is what keeps a
 * busy user's counter rows from being held through a flush per request.
 */
export function createReservationCloser(
  database: Database,
  writes: WriteBatcher,
  onBatch?: (size: number) => void,
): CloseReservation {
  const { db } = database
  if (database.dialect === 'postgres') {
    return createBatcher<CloseInput, ReservationRow | undefined>({
      all: (inputs) => closeReservations(db, inputs),
      one: async (input) => (await closeReservations(db, [input]))[0],
      onBatch,
    })
  }
  return (input) => writes.run((trx) => closeInTransaction(trx, input))
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
