import type { Kysely } from 'kysely'
import type { DB, Metric, ReservationRow } from '../../db/tables.ts'

/** One period's counters: the three rows (one per metric) a reservation moves together. */
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
  /** Ids for the usage rows of requests, tokens_input and tokens_output. */
  usageIds: [string, string, string]
  estimated: boolean
  now: number
  /** Per metric, the raw tokens behind `actual` (weights, docs/weights.md); absent = unknown (null). */
  raw?: Record<Metric, number>
  /** Per metric, the upstream cost in micro-units; absent = no price configured (null). */
  cost?: Record<Metric, number>
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
   * none): the requests row's `reserved` is the number of requests in flight.
   */
  inFlightLimit: number
  /** 'settled': tokens_output is admitted while used < limit and reserved whole (config quota.outputAdmission). */
  outputAdmission: 'settled' | 'reserved'
}

/**
 * The ledger's writes on PostgreSQL (store.pg.ts), which store.ts batches over.
 * SQLite's (store.sqlite.ts) are the same operations, synchronous, and a
 * turn's reserves and closes share one transaction there.
 */
export interface DialectStore {
  /** One reservation (three counters and its row): the counters after it, or null when some metric refused. */
  reserve(db: Kysely<DB>, input: ReserveInput): Promise<CounterAfter[] | null>
  /**
   * Many reservations, all or none: each input's counters after the batch. Throws, having
   * changed nothing, unless every request is admitted in full; the caller then reserves
   * one at a time, which decides refusals and caps exactly.
   */
  reserveAll(db: Kysely<DB>, inputs: ReserveInput[]): Promise<CounterAfter[][]>
  /** Settles and releases: per input, the reservation it closed, or undefined when it was already closed. */
  close(db: Kysely<DB>, inputs: CloseInput[]): Promise<Array<ReservationRow | undefined>>
}
