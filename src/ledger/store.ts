import type { Database } from '../../db/client.ts'
import type { ReservationRow } from '../../db/tables.ts'
import { createBatcher } from './batcher.ts'
import { postgresStore } from './store.pg.ts'
import { sqliteStore } from './store.sqlite.ts'
import type { CloseInput, DialectStore, ReservedRows, ReserveInput } from './store.types.ts'

type Kind = 'reserve' | 'close'

/** Metrics of the ledger's batches, by kind. */
export interface LedgerBatchObserver {
  onBatch?(kind: Kind, size: number): void
  onRetryAlone?(kind: Kind, size: number): void
  /** Told each written transaction's (SQLite) or statement's (PostgreSQL) items: what one commit carries. */
  onCommit?(sizes: Record<Kind, number>): void
}

/** The ledger's writes that batch: see createLedgerStore. */
export interface LedgerStore {
  /** Reserves (all three counters and the reservation row): the counters after it, or null when some metric refused. */
  reserve(input: ReserveInput): Promise<ReservedRows | null>
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
 * those made in one event-loop turn are written together, by the database's
 * DialectStore. On SQLite the turn's closes and reserves are ONE batch, one
 * transaction (store.sqlite.ts): a close (settle or release, written after
 * the answer left) waits up to closeWindowMs for the next reserve batch and
 * commits with it, so under load one commit (one WAL write) serves a turn's
 * reserves and the closes before them. On PostgreSQL the reserves and the
 * closes are batched apart, one statement each (store.pg.ts). Reserves go all
 * or none: a batch that cannot admit every request in full is undone and
 * each request is then decided alone, by the single-reservation rules.
 * Whatever fails as a whole changed nothing, and its items are retried alone
 * (batcher.ts).
 */
export function createLedgerStore(
  database: Database,
  observe: LedgerBatchObserver = {},
  options: LedgerStoreOptions = {},
): LedgerStore {
  const windowMs = options.closeWindowMs ?? CLOSE_WINDOW_MS[database.dialect]
  const windowed = windowedReservations()
  const maxWaiting = options.maxWaitingCloses ?? MAX_WAITING_CLOSES
  const closesWait = windowMs > 0 ? { windowMs, maxWaiting } : undefined
  if (database.dialect === 'sqlite') {
    const turns = batchedWrites(sqliteStore(database), observe, closesWait)
    return {
      reserve: (input) => {
        const reserving = turns({ kind: 'reserve', input }) as Promise<ReservedRows | null>
        return input.ask.windows ? windowed.reserved(input, reserving) : reserving
      },
      close: (input) =>
        windowed.closed(
          input,
          (close) => turns({ kind: 'close', input: close }) as Promise<ReservationRow | undefined>,
        ),
      hurry: () => turns.hurry(),
    }
  }
  // A statement has no transaction to share: each kind keeps a batch in flight of its own.
  const store = postgresStore(database)
  const reserves = batchedWrites(store, observe, undefined)
  const closes = batchedWrites(store, observe, closesWait)
  // A reservation of a plan with rate windows is its own statement (store.windows.pg.ts), at
  // once: the batch's all-or-none sum has no window in it, so plain plans keep their statement.
  const reserveWindowed = async (input: ReserveInput) =>
    (await store.write([], [input])).reserved[0] ?? null
  return {
    reserve: (input) =>
      input.ask.windows
        ? windowed.reserved(input, reserveWindowed(input))
        : (reserves({ kind: 'reserve', input }) as Promise<ReservedRows | null>),
    close: (input) =>
      windowed.closed(
        input,
        (close) => closes({ kind: 'close', input: close }) as Promise<ReservationRow | undefined>,
      ),
    hurry: () => closes.hurry(),
  }
}

/**
 * The request ids this process reserved with rate windows, until their close lands:
 * their close takes the statement that moves the windows (CloseInput.windowed), every
 * other close the period's alone, so the callers of settle and release need not know.
 * A close the database refused keeps its id for the retry.
 */
function windowedReservations() {
  const ids = new Set<string>()
  return {
    /** Only a reservation of a plan with windows comes here: the others pass by unwrapped. */
    async reserved(input: ReserveInput, reserving: Promise<ReservedRows | null>) {
      const rows = await reserving
      if (rows) ids.add(input.fields.requestId)
      return rows
    },
    /** A close of a reservation without windows is the period's close itself, no promise added. */
    closed(input: CloseInput, close: (input: CloseInput) => Promise<ReservationRow | undefined>) {
      if (input.windowed || !ids.has(input.requestId)) return close(input)
      return close({ ...input, windowed: true }).then((closed) => {
        ids.delete(input.requestId)
        return closed
      })
    },
  }
}

type Write = { kind: 'reserve'; input: ReserveInput } | { kind: 'close'; input: CloseInput }
type Written = ReservedRows | null | ReservationRow | undefined

/** A batcher of writes over `store`: each batch one store.write, the closes first. */
function batchedWrites(
  store: DialectStore,
  observe: LedgerBatchObserver,
  closesWait: { windowMs: number; maxWaiting: number } | undefined,
) {
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
    const written = await store.write(closes, reserves)
    if (written.reservesAlone) observe.onRetryAlone?.('reserve', reserves.length)
    observe.onCommit?.({ reserve: reserves.length, close: closes.length })
    let c = 0
    let r = 0
    return writes.map((w) => (w.kind === 'close' ? written.closed[c++] : written.reserved[r++]))
  }
  return createBatcher<Write, Written>(
    {
      all: write,
      one: async (w) => (await write([w]))[0],
      onBatch: (writes) => tell(observe.onBatch?.bind(observe), writes),
      onRetryAlone: (writes) => tell(observe.onRetryAlone?.bind(observe), writes),
    },
    closesWait && { waits: (w) => w.kind === 'close', ...closesWait },
  )
}
