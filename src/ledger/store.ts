import type { Database } from '../../db/client.ts'
import type { ReservationRow } from '../../db/tables.ts'
import { type Batcher, createBatcher } from './batcher.ts'
import { postgresStore } from './store.pg.ts'
import { sqliteLedger } from './store.sqlite.ts'
import type { CloseInput, CounterAfter, ReserveInput } from './store.types.ts'

type Kind = 'reserve' | 'close'

/** Metrics of the ledger's batches, by kind. */
export interface LedgerBatchObserver {
  onBatch?(kind: Kind, size: number): void
  onRetryAlone?(kind: Kind, size: number): void
  /** Told each transaction's (SQLite) or statement's (PostgreSQL) items: what one commit carries. */
  onCommit?(sizes: Record<Kind, number>): void
}

/** The ledger's writes that batch: see createLedgerStore. */
export interface LedgerStore {
  /** Reserves (all three counters and the reservation row): the counters after it, or null when some metric refused. */
  reserve(input: ReserveInput): Promise<CounterAfter[] | null>
  /** Settles or releases one reservation: the row it closed, or undefined when it was already closed. */
  close(input: CloseInput): Promise<ReservationRow | undefined>
  /**
   * Writes the closes waiting for company now: for a reader of a user's usage
   * (lib/pending-writes.ts) and for shutdown, which must not sit out the window.
   */
  hurry(): void
}

export interface LedgerStoreOptions {
  /**
   * How long a close may wait for the next reserve batch to ride with (ms); 0: closes go
   * out in the turn they come, like reserves. A close is off the client's path (the
   * answer left first), and the reservation it ends stays counted until it lands.
   */
  closeWindowMs?: number
  /** This many closes waiting go out without waiting longer. */
  maxWaitingCloses?: number
}

/**
 * The default close window per dialect: measured in docs/performance.md ("Ledger writes").
 * PostgreSQL has none: there a close waiting for company is a statement of its own that a
 * user's next reservation does not carry, and it lost the race to that reservation often
 * enough (the quota headers then counted the previous request at its estimate) to outweigh
 * the server CPU the window saved (about 10 µs a request). On SQLite the reservation's
 * transaction carries the waiting closes first, so nothing is read before them.
 */
export const CLOSE_WINDOW_MS = { sqlite: 3, postgres: 0 } as const
const MAX_WAITING_CLOSES = 64

/**
 * Every reservation, settle and release of the process goes through here, and
 * those made in one event-loop turn are written together. On SQLite the
 * turn's closes and reserves are ONE transaction (store.sqlite.ts): a close
 * (settle or release, written after the answer left) waits up to
 * closeWindowMs for the next reserve batch and commits with it, so under load
 * one commit (one WAL write) serves a turn's reserves and the closes before
 * them. On PostgreSQL the reserves and the closes are one statement each
 * (store.pg.ts). Reserves go all or none: a batch that cannot admit every
 * request in full is undone and each request is then decided alone, by the
 * single-reservation rules. Whatever fails as a whole changed nothing, and
 * its items are retried alone (batcher.ts).
 */
export function createLedgerStore(
  database: Database,
  observe: LedgerBatchObserver = {},
  options: LedgerStoreOptions = {},
): LedgerStore {
  const windowMs = options.closeWindowMs ?? CLOSE_WINDOW_MS[database.dialect]
  const maxWaiting = options.maxWaitingCloses ?? MAX_WAITING_CLOSES
  return database.dialect === 'sqlite'
    ? sqliteTurns(database, observe, windowMs, maxWaiting)
    : postgresBatches(database, observe, windowMs, maxWaiting)
}

type Write = { kind: 'reserve'; input: ReserveInput } | { kind: 'close'; input: CloseInput }
type Written = CounterAfter[] | null | ReservationRow | undefined

/** SQLite: one batcher for both kinds, each batch one transaction (closes first). */
function sqliteTurns(
  database: Database,
  observe: LedgerBatchObserver,
  windowMs: number,
  maxWaiting: number,
): LedgerStore {
  const ledger = sqliteLedger(database)
  const split = (writes: Write[]) => {
    const closes: CloseInput[] = []
    const reserves: ReserveInput[] = []
    for (const write of writes) {
      if (write.kind === 'close') closes.push(write.input)
      else reserves.push(write.input)
    }
    return { closes, reserves }
  }
  const tell = (to: ((kind: Kind, size: number) => void) | undefined, writes: Write[]) => {
    if (!to) return
    const { closes, reserves } = split(writes)
    if (reserves.length > 0) to('reserve', reserves.length)
    if (closes.length > 0) to('close', closes.length)
  }
  const write = async (writes: Write[]): Promise<Written[]> => {
    const { closes, reserves } = split(writes)
    const turn = await ledger.writeTurn(closes, reserves)
    if (turn.reservesAlone) observe.onRetryAlone?.('reserve', reserves.length)
    observe.onCommit?.({ reserve: reserves.length, close: closes.length })
    let c = 0
    let r = 0
    return writes.map((w) => (w.kind === 'close' ? turn.closed[c++] : turn.reserved[r++]))
  }
  const submit = createBatcher<Write, Written>(
    {
      all: write,
      one: async (w) => (await write([w]))[0],
      onBatch: (writes) => tell(observe.onBatch?.bind(observe), writes),
      onRetryAlone: (writes) => tell(observe.onRetryAlone?.bind(observe), writes),
    },
    windowMs > 0 ? { waits: (w) => w.kind === 'close', windowMs, maxWaiting } : undefined,
  )
  return {
    reserve: (input) => submit({ kind: 'reserve', input }) as Promise<CounterAfter[] | null>,
    close: (input) => submit({ kind: 'close', input }) as Promise<ReservationRow | undefined>,
    hurry: () => submit.hurry(),
  }
}

/** PostgreSQL: one statement per batch of each kind, the closes with their own window. */
function postgresBatches(
  database: Database,
  observe: LedgerBatchObserver,
  windowMs: number,
  maxWaiting: number,
): LedgerStore {
  const { db } = database
  const observed = (kind: Kind) => ({
    onBatch: (items: unknown[]) => {
      observe.onBatch?.(kind, items.length)
      observe.onCommit?.({ reserve: 0, close: 0, [kind]: items.length })
    },
    onRetryAlone: (items: unknown[]) => observe.onRetryAlone?.(kind, items.length),
  })
  const reserve = createBatcher<ReserveInput, CounterAfter[] | null>({
    all: (inputs) => postgresStore.reserveAll(db, inputs),
    one: (input) => postgresStore.reserve(db, input),
    ...observed('reserve'),
  })
  const close: Batcher<CloseInput, ReservationRow | undefined> = createBatcher<
    CloseInput,
    ReservationRow | undefined
  >(
    {
      all: (inputs) => postgresStore.close(db, inputs),
      one: async (input) => (await postgresStore.close(db, [input]))[0],
      ...observed('close'),
    },
    windowMs > 0 ? { waits: () => true, windowMs, maxWaiting } : undefined,
  )
  return { reserve, close, hurry: () => close.hurry() }
}
