import type { Metric, ReservationRow } from '../../db/tables.ts'
import type { TokenClasses } from './amounts.ts'

/** One period's counters: the row (its metrics as columns) a reservation moves. */
export interface CounterKey {
  subscriptionId: string
  periodStart: number
}

/**
 * Beyond any real limit: an unlimited metric (or one asked 0) is compared with
 * this, so one SQL text serves every plan. bigint columns hold it with room.
 */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER

export interface ReservationFields {
  requestId: string
  userId: string
  modelId: string | null
  chatId: string | null
  now: number
  /** The process serving the request (gateway_instance.id): the sweeper leaves it alone while it beats. */
  owner: string
  /** When the request goes upstream (see reserveOnce in service.ts), or null: not sent. */
  sentAt: number | null
}

/** One reservation of a batch: its counters, what it asks, and its row's fields. */
export interface ReserveInput {
  key: CounterKey
  ask: ReserveAsk
  fields: ReservationFields
}

/** One settle (or release, with zero amounts): what a batched close needs per reservation. */
export interface CloseInput {
  requestId: string
  actual: Record<Metric, number>
  /** The id of the request's usage row (one row, its metrics as columns). */
  usageId: string
  estimated: boolean
  now: number
  /** Per metric, the raw tokens behind `actual` (weights, docs/weights.md); absent = unknown (null). */
  raw?: Record<Metric, number>
  /** Per metric, the upstream cost in micro-units; absent = no price configured (null). */
  cost?: Record<Metric, number>
  /** The token classes within the raw tokens (docs/metering.md); absent = none reported (0). */
  classes?: TokenClasses
  /** The answer's HTTP status; absent = unknown (null). */
  status?: number
  /** Ms from the reservation to the settle; absent = unknown (null). */
  latencyMs?: number
}

/** A counter after a reservation; last_reserved = what that reservation added to it. */
export type CounterAfter = { metric: Metric; used: number; reserved: number; last_reserved: number }

export interface MetricAsk {
  /** What the request asks to reserve. */
  n: number
  /** The limit to check against (NO_LIMIT when none). */
  limit: number
}

/** What one reservation asks per metric, and the admission rules it is held to. */
export type ReserveAsk = Record<Metric, MetricAsk> & {
  /**
   * Most reservations of the counter key held at once, this one included (NO_LIMIT when
   * none): requests_reserved is the number of requests in flight.
   */
  inFlightLimit: number
  /** 'settled': tokens_output is admitted while used < limit and reserved whole (config quota.outputAdmission). */
  outputAdmission: 'settled' | 'reserved'
}

/** What one DialectStore.write did, per item in the order given. */
export interface WriteResult {
  /** Per close, the reservation it closed, or undefined when it was already closed. */
  closed: Array<ReservationRow | undefined>
  /** Per reserve, the counters after it, or null when some metric refused. */
  reserved: Array<CounterAfter[] | null>
  /** The reserves did not fit as a batch and were decided one by one inside the write. */
  reservesAlone: boolean
}

/**
 * The ledger's writes on one database: store.sqlite.ts and store.pg.ts
 * implement it with the same skeleton (the factory, then reserveOne,
 * reserveMany and closeMany, each followed by its SQL), and store.ts batches
 * over it. How each database writes a batch (one transaction, or one
 * statement) is said once, at its factory's `write`.
 */
export interface DialectStore {
  /**
   * One batch of the ledger's writes: the closes (settles and releases) first, since
   * they free room, then the reserves. A lone reserve is decided by itself (reserveOne);
   * many go all or none (reserveMany): each counter takes the sum of its asks only when
   * every request would have been admitted in full one after the other. Throws, having
   * changed nothing, when the batch cannot be written as a whole; the caller then writes
   * each item alone, which decides refusals and caps exactly.
   */
  write(closes: CloseInput[], reserves: ReserveInput[]): Promise<WriteResult>
}
