import { type Kysely, sql, type Transaction } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { DB, Metric, ReservationRow } from '../../db/tables.ts'
import {
  type CounterKey,
  int,
  type MetricAsk,
  type ReserveArgs,
  reserveAllSql,
  reserveArgs,
} from './ledger.repo.ts'

type Db = Kysely<DB> | Transaction<DB>

/**
 * PostgreSQL only: a whole settle (or release, with zero amounts) in ONE
 * statement, so one round trip instead of five. Data-modifying CTEs run in one
 * snapshot and commit together: the reservation is deleted (whoever deletes it
 * owns it, so a settle runs once), its counters move by (actual, reserved), and
 * one usage row is written per metric with a non-zero amount. Returns the
 * reservation, or nothing when it was already closed. SQLite has no
 * data-modifying CTEs and runs the same steps in one transaction instead.
 */
export async function closeReservationInOneStatement(
  db: Db,
  input: {
    requestId: string
    actual: Record<Metric, number>
    usageIds: [string, string, string]
    estimated: boolean
    now: number
  },
): Promise<ReservationRow | undefined> {
  const { requestId, actual: a, usageIds: ids, estimated, now } = input
  const { rows } = await closeReservationQuery(
    db,
    requestId,
    a.requests,
    a.tokens_input,
    a.tokens_output,
    now,
    ids[0],
    ids[1],
    ids[2],
    estimated ? 1 : 0,
  )
  return rows[0]
}

const closeReservationQuery = prepared(
  (
    _db,
    requestId: string,
    ar: number,
    ai: number,
    ao: number,
    now: number,
    idR: string,
    idI: string,
    idO: string,
    estimated: number,
  ) => sql<ReservationRow>`
    WITH taken AS (
      DELETE FROM billing_reservation WHERE request_id = ${requestId} RETURNING *
    ), moved AS (
      UPDATE billing_quota_counter c
      SET used = c.used + CASE c.metric WHEN 'requests' THEN ${int(ar)} WHEN 'tokens_input' THEN ${int(ai)} ELSE ${int(ao)} END,
        reserved = c.reserved - CASE c.metric WHEN 'requests' THEN t.requests WHEN 'tokens_input' THEN t.tokens_input ELSE t.tokens_output END,
        updated_at = ${int(now)}
      FROM taken t
      WHERE c.subscription_id = t.subscription_id AND c.period_start = t.period_start
      RETURNING c.metric
    ), recorded AS (
      INSERT INTO billing_usage (id, user_id, subscription_id, metric, amount, model_id, chat_id, request_id, estimated, created_at)
      SELECT v.id, t.user_id, t.subscription_id, v.metric, v.amount, t.model_id, t.chat_id, t.request_id, v.estimated, ${int(now)}
      FROM taken t CROSS JOIN (VALUES
        (CAST(${idR} AS text), 'requests', ${int(ar)}, 0),
        (CAST(${idI} AS text), 'tokens_input', ${int(ai)}, CAST(${estimated} AS integer)),
        (CAST(${idO} AS text), 'tokens_output', ${int(ao)}, CAST(${estimated} AS integer))
      ) AS v(id, metric, amount, estimated)
      WHERE v.amount > 0
      RETURNING id
    )
    SELECT * FROM taken`,
)

export interface ReservationFields {
  requestId: string
  userId: string
  modelId: string | null
  chatId: string | null
  now: number
}

/**
 * PostgreSQL only: the whole reservation in ONE statement, so the three counter
 * rows are locked for one statement instead of across four round trips (with
 * one busy user every request needs the same three rows). The counters are
 * updated as in the SQLite transaction (reserveAll's rules) and the
 * reservation row is written from what they returned. All three must have
 * taken their share: if one refused, the guard divides by zero, the statement
 * fails, and PostgreSQL undoes the other counters' updates with it.
 * Returns the counters after the change, or null when some metric refused.
 */
export async function reserveInOneStatement(
  db: Db,
  key: CounterKey,
  ask: Record<Metric, MetricAsk>,
  fields: ReservationFields,
) {
  try {
    const { rows } = await reserveQuery(
      db,
      ...reserveArgs(key, ask, fields.now),
      fields.requestId,
      fields.userId,
      fields.modelId,
      fields.chatId,
    )
    return rows.map((row) => ({ ...row, used: Number(row.used), reserved: Number(row.reserved) }))
  } catch (error) {
    if ((error as { code?: string }).code === DIVISION_BY_ZERO) return null
    throw error
  }
}

const DIVISION_BY_ZERO = '22012'

const reserveQuery = prepared(
  (
    _db,
    ...args: [
      ...ReserveArgs,
      requestId: string,
      userId: string,
      modelId: string | null,
      chatId: string | null,
    ]
  ) => {
    const update = args.slice(0, 9) as ReserveArgs
    const [sub, period, , , , , , , now, requestId, userId, modelId, chatId] = args
    return sql<{ metric: Metric; used: number; reserved: number; last_reserved: number }>`
    WITH updated AS (${reserveAllSql(...update)}),
    held AS (
      INSERT INTO billing_reservation
        (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at)
      SELECT ${requestId}, ${userId}, ${sub}, ${int(period)},
        (SELECT last_reserved FROM updated WHERE metric = 'requests'),
        (SELECT last_reserved FROM updated WHERE metric = 'tokens_input'),
        (SELECT last_reserved FROM updated WHERE metric = 'tokens_output'),
        CAST(${modelId} AS text), CAST(${chatId} AS text), ${int(now)}
      WHERE 1 / ((SELECT count(*) FROM updated) / 3) = 1
      RETURNING request_id
    )
    SELECT updated.* FROM updated CROSS JOIN held`
  },
)
