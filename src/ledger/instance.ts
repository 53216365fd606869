import { randomUUID } from 'node:crypto'
import type { Amounts, Metric } from './amounts.ts'

/** Who a reservation belongs to, enough to bill it when its row is gone (see settle). */
export interface ReservationIdentity {
  userId: string
  subscriptionId: string
  periodStart: number
  modelId: string | null
  chatId: string | null
}

/** A settle or release the database refused (it was unreachable): retried until it lands. */
export interface UnfinishedClose {
  actual: Amounts
  estimated: boolean
  /** Absent for a release: releasing a reservation that is gone changes nothing. */
  identity?: ReservationIdentity
}

/**
 * This process, as the ledger knows it. Its id is written as the owner of
 * every reservation it makes and beats in gateway_instance
 * (src/ledger/liveness.job.ts): other processes leave its reservations alone while
 * it beats, and settle or release them once it stops.
 */
export interface Instance {
  /** Random at each start: a restarted process is a new owner, its predecessor dead. */
  readonly id: string
  /**
   * Closes that failed, by request id. A live owner's rows are never swept, so
   * nobody else would end them: the sweeper of this process retries them.
   */
  readonly unfinished: Map<string, UnfinishedClose>
  /**
   * The requests this process admitted on a prepaid pack, by request id, with the
   * pack's metric: their settle closes the period reservation without that metric and
   * the pack's with it (ledger/service.ts), with no read to learn which a request was.
   * Forgotten when both have ended; after a crash the sweepers end each on its own.
   */
  readonly packFunded: Map<string, Metric>
}

/** Beyond this many unfinished closes (a long database outage) the oldest are dropped and logged. */
export const MAX_UNFINISHED = 100_000

export function createInstance(): Instance {
  return { id: randomUUID(), unfinished: new Map(), packFunded: new Map() }
}
