import { type Kysely, sql, type Transaction } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { DB, Metric, ReservationRow } from '../../db/tables.ts'
import { METRICS } from './amounts.ts'
import {
  admissionRule,
  batchRuleColumns,
  perMetric,
  type ReserveArgs,
  reserveArgs,
  reserveOneSql,
} from './store.sql.ts'
import type { CloseInput, CounterAfter, DialectStore, ReserveInput } from './store.types.ts'

/**
 * The ledger's writes on SQLite: each a transaction (immediate, so exclusive:
 * db/client.ts) of a few statements, a batch's rows passed as one JSON
 * argument. SQLite has no data-modifying CTEs, so what PostgreSQL does in one
 * statement (store.pg.ts) takes a transaction of two or three here.
 */
export const sqliteStore: DialectStore = {
  reserve: reserveOne,
  reserveAll: (db, inputs) =>
    db.transaction().execute(async (trx) => {
      const after = await reserveManyInTransaction(trx, inputs)
      if (!after) throw new Refused() // rolls the batch back; each then runs alone
      return after
    }),
  close: (db, inputs) =>
    db.transaction().execute((trx) => closeReservationsInTransaction(trx, inputs)),
}

/** Thrown inside a transaction to roll it back when a metric refused. */
class Refused extends Error {}

/**
 * One reservation: the counters' UPDATE (reserveOneSql) and the reservation's
 * INSERT in one transaction, rolled back unless all three counters took their share.
 */
async function reserveOne(db: Kysely<DB>, { key, ask, fields }: ReserveInput) {
  try {
    return await db.transaction().execute(async (trx) => {
      const { rows } = await reserveOneQuery(trx, ...reserveArgs(key, ask, fields.now))
      if (rows.length < METRICS.length) throw new Refused()
      const after = rows.map((row) => ({
        metric: row.metric,
        used: Number(row.used),
        reserved: Number(row.reserved),
        last_reserved: Number(row.last_reserved),
      }))
      const amount = (m: Metric) => after.find((row) => row.metric === m)!.last_reserved
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
      return after
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

async function insertReservation(db: Transaction<DB>, row: ReservationRow): Promise<void> {
  await insertReservationQuery(db, ...RESERVATION_COLUMNS.map((column) => row[column]))
}

const insertReservationQuery = prepared((db, ...values: unknown[]) =>
  db
    .insertInto('billing_reservation')
    .values(Object.fromEntries(RESERVATION_COLUMNS.map((column, i) => [column, values[i]]))),
)

/**
 * The reservations of many requests in the caller's transaction, all or none,
 * by the rule of PostgreSQL's reserveMany: each counter row takes the SUM of
 * its requests' asks under reserveOneSql's conditions, whole (admissionRule `whole`), so it succeeds only
 * when every request would have been admitted in full one after the other.
 * Two statements for the whole batch, whatever its size. (SQLite's RETURNING
 * takes no table qualifier: `c.used` there is "no such column".) Returns each input's
 * counters after the batch, or null when some counter refused: the caller
 * must then roll back (some rows may have been updated) and reserve one at a
 * time, which decides refusals and caps exactly.
 */
async function reserveManyInTransaction(
  trx: Transaction<DB>,
  inputs: ReserveInput[],
): Promise<CounterAfter[][] | null> {
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
  const { rows } = await reserveSumsQuery(trx, JSON.stringify([...asks.values()]), now)
  if (rows.length < asks.size * METRICS.length) return null
  await insertReservationsQuery(
    trx,
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
  const after = new Map<string, Array<{ metric: Metric; used: number; reserved: number }>>()
  for (const row of rows) {
    const id = keyId(row.subscription_id, row.period_start)
    after.set(id, [...(after.get(id) ?? []), row])
  }
  return inputs.map(({ key, ask }) =>
    after.get(keyId(key.subscriptionId, key.periodStart))!.map(({ metric, used, reserved }) => ({
      metric,
      used,
      reserved,
      last_reserved: ask[metric].n,
    })),
  )
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
  (_db: Kysely<DB>, asksJson: string, now: number) => sql<{
    subscription_id: string
    period_start: number
    metric: Metric
    used: number
    reserved: number
  }>`
    UPDATE billing_quota_counter AS c
    SET reserved = c.reserved + ${perMetric(sql`c.metric`, sql`k.requests`, sql`k.tokens_input`, sql`k.tokens_output`)},
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
    RETURNING subscription_id, period_start, metric, used, reserved`,
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
 * The settles and releases of many reservations in the caller's transaction, in three statements whatever the batch's size, by the rules of
 * PostgreSQL's closeReservations: the reservations are deleted (whoever
 * deletes one owns it; a request id twice in the batch counts once, for its
 * first item), each counter moves by the sums of (actual, reserved) over its
 * reservations, and one usage row is written per metric with a non-zero
 * amount. Returns, per input, the reservation it closed, or undefined.
 */
async function closeReservationsInTransaction(
  trx: Transaction<DB>,
  inputs: CloseInput[],
): Promise<Array<ReservationRow | undefined>> {
  const { rows: taken } = await takeReservationsQuery(
    trx,
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
    const { actual, usageIds, estimated, now, raw, cost } = inputs[i]!
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
    const { user_id, subscription_id, model_id, chat_id, request_id } = reservation
    for (const [m, metric] of METRICS.entries()) {
      if (actual[metric] <= 0) continue
      const flagged = estimated && metric !== 'requests' ? 1 : 0
      usage.push([
        ...[usageIds[m], user_id, subscription_id, metric, actual[metric], model_id, chat_id],
        ...[
          request_id,
          flagged,
          now,
          raw?.[metric] ?? null,
          metric === 'requests' ? null : (cost?.[metric] ?? null),
        ],
      ])
    }
  }
  const now = Math.max(...inputs.map((input) => input.now))
  if (sums.size > 0) await moveSumsQuery(trx, JSON.stringify([...sums.values()]), now)
  if (usage.length > 0) await insertUsageQuery(trx, JSON.stringify(usage))
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
    SET used = c.used + ${perMetric(sql`c.metric`, sql`k.used_requests`, sql`k.used_input`, sql`k.used_output`)},
      reserved = c.reserved - ${perMetric(sql`c.metric`, sql`k.reserved_requests`, sql`k.reserved_input`, sql`k.reserved_output`)},
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

const insertUsageQuery = prepared(
  (_db: Kysely<DB>, rowsJson: string) => sql`
    INSERT INTO billing_usage
      (id, user_id, subscription_id, metric, amount, model_id, chat_id, request_id, estimated, created_at, raw_amount, cost_micros)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
      value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11
    FROM json_each(${rowsJson})`,
)
