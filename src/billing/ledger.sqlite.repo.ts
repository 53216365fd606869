import { type Kysely, sql, type Transaction } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { DB, Metric, ReservationRow } from '../../db/tables.ts'
import {
  admissionRule,
  batchRuleColumns,
  type CloseInput,
  type CounterAfter,
  perMetric,
  type ReserveInput,
} from './ledger.repo.ts'
import { METRICS } from './metrics.ts'

/**
 * SQLite only: the reservations of many requests in the caller's (immediate,
 * so exclusive) transaction, all or none, by the rule of PostgreSQL's
 * reserveMany: each counter row takes the SUM of its requests' asks under
 * reserveAll's conditions, whole (admissionRule `whole`), so it succeeds only
 * when every request would have been admitted in full one after the other.
 * Two statements for the whole batch, whatever its size. (SQLite's RETURNING
 * takes no table qualifier: `c.used` there is "no such column".) Returns each input's
 * counters after the batch, or null when some counter refused: the caller
 * must then roll back (some rows may have been updated) and reserve one at a
 * time, which decides refusals and caps exactly.
 */
export async function reserveManyInTransaction(
  trx: Transaction<DB>,
  inputs: ReserveInput[],
): Promise<CounterAfter[][] | null> {
  const asks = new Map<string, AskSum>()
  for (const { key, ask } of inputs) {
    const id = keyId(key.subscriptionId, key.periodStart)
    const sum = asks.get(id) ?? {
      s: key.subscriptionId,
      p: key.periodStart,
      rn: 0,
      rl: ask.requests.limit,
      mc: ask.inFlightLimit,
      inn: 0,
      il: ask.tokens_input.limit,
      outn: 0,
      ol: ask.tokens_output.limit,
      settled: ask.outputAdmission === 'settled' ? 1 : 0,
    }
    sum.rn += ask.requests.n
    sum.inn += ask.tokens_input.n
    sum.outn += ask.tokens_output.n
    sum.rl = Math.min(sum.rl, ask.requests.limit)
    sum.mc = Math.min(sum.mc, ask.inFlightLimit)
    if (ask.outputAdmission !== 'settled') sum.settled = 0
    sum.il = Math.min(sum.il, ask.tokens_input.limit)
    sum.ol = Math.min(sum.ol, ask.tokens_output.limit)
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

interface AskSum {
  s: string
  p: number
  rn: number
  rl: number
  mc: number
  inn: number
  il: number
  outn: number
  ol: number
  settled: number
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
    SET reserved = c.reserved + ${perMetric(sql`c.metric`, sql`k.rn`, sql`k.inn`, sql`k.outn`)},
      updated_at = ${now}
    FROM (
      SELECT value ->> 's' AS s, value ->> 'p' AS p, value ->> 'rn' AS rn, value ->> 'rl' AS rl,
        value ->> 'mc' AS mc, value ->> 'inn' AS inn, value ->> 'il' AS il,
        value ->> 'outn' AS outn, value ->> 'ol' AS ol, value ->> 'settled' AS settled
      FROM json_each(${asksJson})
    ) AS k
    WHERE c.subscription_id = k.s AND c.period_start = k.p
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
 * SQLite only: the settles and releases of many reservations in the caller's
 * transaction, in three statements whatever the batch's size, by the rules of
 * PostgreSQL's closeReservations: the reservations are deleted (whoever
 * deletes one owns it; a request id twice in the batch counts once, for its
 * first item), each counter moves by the sums of (actual, reserved) over its
 * reservations, and one usage row is written per metric with a non-zero
 * amount. Returns, per input, the reservation it closed, or undefined.
 */
export async function closeReservationsInTransaction(
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
      s: reservation.subscription_id,
      p: reservation.period_start,
      ...{ ur: 0, ui: 0, uo: 0, rr: 0, ri: 0, ro: 0 },
    }
    sum.ur += actual.requests
    sum.ui += actual.tokens_input
    sum.uo += actual.tokens_output
    sum.rr += Number(reservation.requests)
    sum.ri += Number(reservation.tokens_input)
    sum.ro += Number(reservation.tokens_output)
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

interface MoveSum {
  s: string
  p: number
  ur: number
  ui: number
  uo: number
  rr: number
  ri: number
  ro: number
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
    SET used = c.used + ${perMetric(sql`c.metric`, sql`k.ur`, sql`k.ui`, sql`k.uo`)},
      reserved = c.reserved - ${perMetric(sql`c.metric`, sql`k.rr`, sql`k.ri`, sql`k.ro`)},
      updated_at = ${now}
    FROM (
      SELECT value ->> 's' AS s, value ->> 'p' AS p, value ->> 'ur' AS ur, value ->> 'ui' AS ui,
        value ->> 'uo' AS uo, value ->> 'rr' AS rr, value ->> 'ri' AS ri, value ->> 'ro' AS ro
      FROM json_each(${sumsJson})
    ) AS k
    WHERE c.subscription_id = k.s AND c.period_start = k.p`,
)

const insertUsageQuery = prepared(
  (_db: Kysely<DB>, rowsJson: string) => sql`
    INSERT INTO billing_usage
      (id, user_id, subscription_id, metric, amount, model_id, chat_id, request_id, estimated, created_at, raw_amount, cost_micros)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
      value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11
    FROM json_each(${rowsJson})`,
)
