import { type Kysely, sql } from 'kysely'
import { type Database, onSqliteConnection, type SqliteHandle } from '../../db/client.ts'
import { type PreparedQuery, prepared } from '../../db/prepared.ts'
import type { DB, ReservationRow } from '../../db/tables.ts'
import { METRICS, TOKEN_CLASSES } from './amounts.ts'
import {
  admissionRule,
  batchRuleColumns,
  countersAfter,
  PERIOD_COUNTER_COLUMNS,
  type PeriodCounters,
  type ReserveArgs,
  reserveArgs,
  reserveOneSql,
} from './store.sql.ts'
import type {
  CloseInput,
  CounterAfter,
  DialectStore,
  ReserveInput,
  WriteResult,
} from './store.types.ts'

/**
 * The ledger's writes on SQLite, side by side with store.pg.ts: the same
 * factory, then reserveOne, reserveMany and closeMany, each followed by its
 * SQL, then what only SQLite needs (statements on the raw handle). SQLite has
 * no data-modifying CTEs, so what PostgreSQL does in one statement takes two
 * or three here, in one transaction.
 */
export function sqliteStore(database: Database): DialectStore {
  const { db, sqlite: handle } = database
  if (!handle) throw new Error('sqliteStore needs a SQLite database')
  const run = rawStatements(db, handle)
  const writeInOneTransaction = handle.transaction(
    (closes: CloseInput[], reserves: ReserveInput[]): WriteResult => {
      const closed = closes.length > 0 ? closeMany(run, closes) : []
      if (reserves.length <= 1) {
        const reserved = reserves.map((input) => reserveOne(run, input))
        return { closed, reserved, reservesAlone: false }
      }
      try {
        return { closed, reserved: reserveMany(run, reserves), reservesAlone: false }
      } catch (error) {
        if (!(error instanceof Refused)) throw error
        const reserved = reserves.map((input) => reserveOne(run, input))
        return { closed, reserved, reservesAlone: true }
      }
    },
  )
  return {
    // SQLite: the whole batch, a turn's closes and reserves both (store.ts gives it both
    // kinds), is ONE synchronous better-sqlite3 transaction (BEGIN IMMEDIATE: it takes the
    // write lock at once, and waits busy_timeout for another process's), so one commit, one
    // WAL write, per turn. Its statements are the same SQL as through Kysely, compiled once
    // to text and prepared once on the handle: no Kysely executeQuery (two promise layers
    // per statement) on the way. A batch of reserves that cannot admit every request in
    // full is undone (a savepoint) and each is decided alone in the same transaction.
    write: (closes, reserves) =>
      onSqliteConnection(db, handle, () => writeInOneTransaction.immediate(closes, reserves)),
  }
}

/**
 * One reservation in a savepoint of the caller's transaction: the period
 * counter row's UPDATE (reserveOneSql) and the reservation's INSERT. When the
 * row refused (nothing updated), nothing is written and the result is null.
 * Returns the counters after the change, or null when some metric refused.
 */
function reserveOne(run: RawStatements, { key, ask, fields }: ReserveInput): CounterAfter[] | null {
  try {
    return run.savepoint(() => {
      const [updated] = run.rows(reserveOneQuery, ...reserveArgs(key, ask, fields.now))
      if (!updated) throw new Refused()
      const row: ReservationRow = {
        request_id: fields.requestId,
        user_id: fields.userId,
        subscription_id: key.subscriptionId,
        period_start: key.periodStart,
        requests: ask.requests.n,
        tokens_input: ask.tokens_input.n,
        tokens_output: Number(updated.tokens_output_last_reserved),
        model_id: fields.modelId,
        chat_id: fields.chatId,
        created_at: fields.now,
        owner: fields.owner,
        sent_at: fields.sentAt,
      }
      run.rows(insertReservationQuery, ...RESERVATION_COLUMNS.map((column) => row[column]))
      return countersAfter(updated, row)
    })
  } catch (error) {
    if (error instanceof Refused) return null
    throw error
  }
}

const reserveOneQuery = prepared((_db, ...args: ReserveArgs) => reserveOneSql(...args))

const RESERVATION_COLUMNS = [
  'request_id',
  'user_id',
  'subscription_id',
  'period_start',
  'requests',
  'tokens_input',
  'tokens_output',
  'model_id',
  'chat_id',
  'created_at',
  'owner',
  'sent_at',
] as const satisfies ReadonlyArray<keyof ReservationRow>

const insertReservationQuery = prepared((db, ...values: unknown[]) =>
  db
    .insertInto('billing_reservation')
    .values(Object.fromEntries(RESERVATION_COLUMNS.map((column, i) => [column, values[i]]))),
)

/**
 * The reservations of many requests in a savepoint of the caller's
 * transaction, all or none, by the rule of store.pg.ts's reserveMany: each
 * counter row takes the SUM of its requests' asks under reserveOneSql's
 * conditions, whole (admissionRule `whole`), so it succeeds only when every
 * request would have been admitted in full one after the other. Two
 * statements for the whole batch, whatever its size. (SQLite's RETURNING
 * takes no table qualifier: `c.used` there is "no such column".) Returns each
 * input's counters after the batch; throws Refused, the savepoint undone
 * (some rows may have been updated), when some counter refused: the caller
 * then reserves one at a time, which decides refusals and caps exactly.
 */
function reserveMany(run: RawStatements, inputs: ReserveInput[]): CounterAfter[][] {
  const asks = new Map<string, AskSum>()
  for (const { key, ask } of inputs) {
    const id = keyId(key.subscriptionId, key.periodStart)
    const sum = asks.get(id) ?? {
      subscription_id: key.subscriptionId,
      period_start: key.periodStart,
      requests: 0,
      requests_limit: ask.requests.limit,
      in_flight_limit: ask.inFlightLimit,
      tokens_input: 0,
      tokens_input_limit: ask.tokens_input.limit,
      tokens_output: 0,
      tokens_output_limit: ask.tokens_output.limit,
      output_settled: ask.outputAdmission === 'settled' ? 1 : 0,
    }
    sum.requests += ask.requests.n
    sum.tokens_input += ask.tokens_input.n
    sum.tokens_output += ask.tokens_output.n
    sum.requests_limit = Math.min(sum.requests_limit, ask.requests.limit)
    sum.in_flight_limit = Math.min(sum.in_flight_limit, ask.inFlightLimit)
    if (ask.outputAdmission !== 'settled') sum.output_settled = 0
    sum.tokens_input_limit = Math.min(sum.tokens_input_limit, ask.tokens_input.limit)
    sum.tokens_output_limit = Math.min(sum.tokens_output_limit, ask.tokens_output.limit)
    asks.set(id, sum)
  }
  const now = Math.max(...inputs.map((input) => input.fields.now))
  return run.savepoint(() => {
    const updated = run.rows(reserveSumsQuery, JSON.stringify([...asks.values()]), now)
    if (updated.length < asks.size) throw new Refused()
    run.rows(
      insertReservationsQuery,
      JSON.stringify(
        inputs.map(({ key, ask, fields }) => [
          fields.requestId,
          fields.userId,
          key.subscriptionId,
          key.periodStart,
          ask.requests.n,
          ask.tokens_input.n,
          ask.tokens_output.n,
          fields.modelId,
          fields.chatId,
          fields.owner,
          fields.sentAt,
        ]),
      ),
      now,
    )
    const after = new Map(updated.map((row) => [keyId(row.subscription_id, row.period_start), row]))
    return inputs.map(({ key, ask }) =>
      countersAfter(after.get(keyId(key.subscriptionId, key.periodStart))!, {
        requests: ask.requests.n,
        tokens_input: ask.tokens_input.n,
        tokens_output: ask.tokens_output.n,
      }),
    )
  })
}

/** One counter key's asks summed over a batch (the JSON rows of reserveSumsQuery). */
interface AskSum {
  subscription_id: string
  period_start: number
  requests: number
  requests_limit: number
  in_flight_limit: number
  tokens_input: number
  tokens_input_limit: number
  tokens_output: number
  tokens_output_limit: number
  output_settled: number
}

const keyId = (subscriptionId: string, periodStart: number) =>
  `${subscriptionId}\u0000${periodStart}`

const reserveSumsQuery = prepared(
  (_db: Kysely<DB>, asksJson: string, now: number) => sql<
    PeriodCounters & { subscription_id: string; period_start: number }
  >`
    UPDATE billing_quota_counter AS c
    SET requests_reserved = c.requests_reserved + k.requests,
      tokens_input_reserved = c.tokens_input_reserved + k.tokens_input,
      tokens_output_reserved = c.tokens_output_reserved + k.tokens_output,
      updated_at = ${now}
    FROM (
      SELECT value ->> 'subscription_id' AS subscription_id,
        value ->> 'period_start' AS period_start,
        value ->> 'requests' AS requests, value ->> 'requests_limit' AS requests_limit,
        value ->> 'in_flight_limit' AS in_flight_limit,
        value ->> 'tokens_input' AS tokens_input,
        value ->> 'tokens_input_limit' AS tokens_input_limit,
        value ->> 'tokens_output' AS tokens_output,
        value ->> 'tokens_output_limit' AS tokens_output_limit,
        value ->> 'output_settled' AS output_settled
      FROM json_each(${asksJson})
    ) AS k
    WHERE c.subscription_id = k.subscription_id AND c.period_start = k.period_start
      AND ${admissionRule(batchRuleColumns, 'whole')}
    RETURNING subscription_id, period_start, ${PERIOD_COUNTER_COLUMNS}`,
)

const insertReservationsQuery = prepared(
  (_db: Kysely<DB>, rowsJson: string, now: number) => sql`
    INSERT INTO billing_reservation
      (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at, owner, sent_at)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
      value ->> 6, value ->> 7, value ->> 8, ${now}, value ->> 9, value ->> 10
    FROM json_each(${rowsJson})`,
)

/**
 * The settles and releases of many reservations in the caller's transaction,
 * in three statements whatever the batch's size, by the rules of store.pg.ts's
 * closeMany: the reservations are deleted (whoever
 * deletes one owns it; a request id twice in the batch counts once, for its
 * first item), each counter moves by the sums of (actual, reserved) over its
 * reservations, and one usage row is written per settle (its metrics as
 * columns; a release writes none). Returns, per input, the reservation it closed, or undefined.
 */
function closeMany(run: RawStatements, inputs: CloseInput[]): Array<ReservationRow | undefined> {
  const taken = run.rows(
    takeReservationsQuery,
    JSON.stringify(inputs.map((input) => input.requestId)),
  )
  const byRequest = new Map(taken.map((row) => [row.request_id, row]))
  const closed = inputs.map((input) => {
    const row = byRequest.get(input.requestId)
    byRequest.delete(input.requestId) // a second item for the same request closes nothing
    return row
  })
  const sums = new Map<string, MoveSum>()
  const usage: unknown[][] = []
  for (const [i, reservation] of closed.entries()) {
    if (!reservation) continue
    const { actual, usageId, estimated, now, raw, cost, classes, status, latencyMs } = inputs[i]!
    const id = keyId(reservation.subscription_id, reservation.period_start)
    const sum = sums.get(id) ?? {
      subscription_id: reservation.subscription_id,
      period_start: reservation.period_start,
      ...{ used_requests: 0, used_input: 0, used_output: 0 },
      ...{ reserved_requests: 0, reserved_input: 0, reserved_output: 0 },
    }
    sum.used_requests += actual.requests
    sum.used_input += actual.tokens_input
    sum.used_output += actual.tokens_output
    sum.reserved_requests += Number(reservation.requests)
    sum.reserved_input += Number(reservation.tokens_input)
    sum.reserved_output += Number(reservation.tokens_output)
    sums.set(id, sum)
    // One usage row per settle; a release (nothing used) leaves none.
    if (!METRICS.some((metric) => actual[metric] !== 0)) continue
    const { user_id, subscription_id, model_id, chat_id, request_id } = reservation
    usage.push([
      ...[usageId, user_id, subscription_id, model_id, chat_id, request_id, estimated ? 1 : 0],
      ...[now, actual.requests, actual.tokens_input, actual.tokens_output],
      ...[raw?.tokens_input ?? null, raw?.tokens_output ?? null],
      ...[cost?.tokens_input ?? null, cost?.tokens_output ?? null],
      ...TOKEN_CLASSES.map((name) => classes?.[name] ?? 0),
      ...[status ?? null, latencyMs === undefined ? null : Math.round(latencyMs)],
    ])
  }
  const now = Math.max(...inputs.map((input) => input.now))
  if (sums.size > 0) run.rows(moveSumsQuery, JSON.stringify([...sums.values()]), now)
  if (usage.length > 0) run.rows(insertUsageQuery, JSON.stringify(usage))
  return closed
}

/** One counter key's closes summed over a batch (the JSON rows of moveSumsQuery). */
interface MoveSum {
  subscription_id: string
  period_start: number
  used_requests: number
  used_input: number
  used_output: number
  reserved_requests: number
  reserved_input: number
  reserved_output: number
}

const takeReservationsQuery = prepared(
  (_db: Kysely<DB>, requestIdsJson: string) => sql<ReservationRow>`
    DELETE FROM billing_reservation
    WHERE request_id IN (SELECT value FROM json_each(${requestIdsJson}))
    RETURNING *`,
)

const moveSumsQuery = prepared(
  (_db: Kysely<DB>, sumsJson: string, now: number) => sql`
    UPDATE billing_quota_counter AS c
    SET requests_used = c.requests_used + k.used_requests,
      tokens_input_used = c.tokens_input_used + k.used_input,
      tokens_output_used = c.tokens_output_used + k.used_output,
      requests_reserved = c.requests_reserved - k.reserved_requests,
      tokens_input_reserved = c.tokens_input_reserved - k.reserved_input,
      tokens_output_reserved = c.tokens_output_reserved - k.reserved_output,
      updated_at = ${now}
    FROM (
      SELECT value ->> 'subscription_id' AS subscription_id,
        value ->> 'period_start' AS period_start,
        value ->> 'used_requests' AS used_requests, value ->> 'used_input' AS used_input,
        value ->> 'used_output' AS used_output,
        value ->> 'reserved_requests' AS reserved_requests,
        value ->> 'reserved_input' AS reserved_input,
        value ->> 'reserved_output' AS reserved_output
      FROM json_each(${sumsJson})
    ) AS k
    WHERE c.subscription_id = k.subscription_id AND c.period_start = k.period_start`,
)

/** billing_usage's columns as closeMany writes them, the token classes (TOKEN_CLASSES order), then status and latency. */
const insertUsageQuery = prepared(
  (_db: Kysely<DB>, rowsJson: string) => sql`
    INSERT INTO billing_usage
      (id, user_id, subscription_id, model_id, chat_id, request_id, estimated, created_at,
        requests, tokens_input, tokens_output, raw_input, raw_output, cost_input_micros,
        cost_output_micros, cached_input, cache_write, audio_input, reasoning, audio_output,
        image_tokens, status, latency_ms)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
      value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11,
      value ->> 12, value ->> 13, value ->> 14, value ->> 15, value ->> 16, value ->> 17,
      value ->> 18, value ->> 19, value ->> 20, value ->> 21, value ->> 22
    FROM json_each(${rowsJson})`,
)

/* What only SQLite needs: the statements on the raw handle, and a savepoint's refusal. */

/** prepared() queries run on the raw better-sqlite3 handle, inside the caller's transaction. */
interface RawStatements {
  /** Runs the query: its rows (none for a statement that returns none). */
  rows<Args extends unknown[], Row>(query: PreparedQuery<Args, Row>, ...args: Args): Row[]
  /** Runs `work` in a savepoint: undone when it throws (Refused, or a database error). */
  savepoint<T>(work: () => T): T
}

function rawStatements(db: Kysely<DB>, handle: SqliteHandle): RawStatements {
  const statements = new Map<string, SqliteStatement>()
  function rows<Args extends unknown[], Row>(query: PreparedQuery<Args, Row>, ...args: Args) {
    const { sql, order } = query.compiled(db, args.length)
    let statement = statements.get(sql)
    if (!statement) {
      statement = handle.prepare(sql)
      statements.set(sql, statement)
    }
    const values = order.map((i) => args[i])
    if (statement.reader) return statement.all(values) as Row[]
    statement.run(values)
    return []
  }
  // Called inside a transaction, a better-sqlite3 transaction function runs as a savepoint.
  const nested = handle.transaction((work: () => unknown) => work())
  return { rows, savepoint: <T>(work: () => T) => nested(work) as T }
}

type SqliteStatement = ReturnType<SqliteHandle['prepare']>

/** Thrown inside a savepoint to undo it when a metric refused. */
class Refused extends Error {}
