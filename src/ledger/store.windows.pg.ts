import { type RawBuilder, sql } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { Db } from '../../db/tables.ts'
import type { RateWindow } from './quotas.ts'
import {
  countersAfter,
  int,
  PERIOD_COUNTER_COLUMNS,
  type PeriodCounters,
  type ReserveArgs,
  reserveArgs,
  reserveOneSql,
} from './store.sql.ts'
import type { ReservedRows, ReserveInput, WindowAfter } from './store.types.ts'

/**
 * The rate windows on PostgreSQL (docs/quotas.md): the statements a reservation of a
 * plan WITH windows takes, so that a plan without them runs store.pg.ts's statements
 * unchanged. Each is still ONE statement, one round trip: the period's reserve
 * (reserveOneSql, as is) composed with the windows' upsert in data-modifying CTEs.
 * Every statement locks the period's counter rows before the windows' rows, each in
 * key order, so none can deadlock another.
 */

/**
 * One reservation of a plan with windows: the period's counter row under the
 * admission rule, then each window the plan sets, created by this same upsert when the
 * window opens or taking the ask only while used + reserved + ask <= limit, then the
 * reservation row and what it holds per window (billing_rate_window_hold, for its
 * close). When the period row refuses, nothing is written; when a window refuses
 * after the period row took its share, the guard divides by zero and the statement
 * changes nothing. Returns the counters after it, or null when either refused.
 */
export async function reserveWindowed(
  db: Db,
  { key, ask, fields }: ReserveInput,
): Promise<ReservedRows | null> {
  const windows = ask.windows ?? []
  try {
    const { rows } = await reserveWindowedQuery(
      db,
      ...reserveArgs(key, ask, fields.now),
      ...([fields.requestId, fields.userId, fields.modelId, fields.chatId] as const),
      ...([fields.owner, fields.sentAt] as const),
      windows.map((w) => w.kind),
      windows.map((w) => w.start),
      windows.map((w) => w.end),
      windows.map((w) => w.n),
      windows.map((w) => w.limit),
    )
    const period = rows.find((row) => row.kind === null)
    if (!period) return null
    const windowRows: WindowAfter[] = rows
      .filter((row) => row.kind !== null)
      .map((row) => ({
        metric: row.kind as RateWindow,
        used: Number(row.used),
        reserved: Number(row.reserved),
        last_reserved: 0,
      }))
    const counters = countersAfter(period, {
      requests: ask.requests.n,
      tokens_input: ask.tokens_input.n,
      tokens_output: Number(period.tokens_output_last_reserved),
    })
    return [...counters, ...windowRows]
  } catch (error) {
    if ((error as { code?: string }).code === DIVISION_BY_ZERO) return null
    throw error
  }
}

const reserveWindowedQuery = prepared(
  (
    _db,
    ...args: [
      ...ReserveArgs,
      requestId: string,
      userId: string,
      modelId: string | null,
      chatId: string | null,
      owner: string,
      sentAt: number | null,
      kinds: string[],
      starts: number[],
      ends: number[],
      asks: number[],
      limits: number[],
    ]
  ) => {
    const update = args.slice(0, RESERVE_ARGS) as ReserveArgs
    const [sub, period, rn, , , inN, , , , , now] = update
    const [requestId, userId, modelId, chatId, owner, sentAt, kinds, starts, ends, asks, limits] =
      args.slice(RESERVE_ARGS) as [
        ...[string, string, string | null, string | null, string, number | null],
        ...[string[], number[], number[], number[], number[]],
      ]
    // The period's row comes back with kind null, each window's with its kind.
    return sql<
      PeriodCounters & {
        tokens_output_last_reserved: number
        kind: RateWindow | null
        used: number | null
        reserved: number | null
      }
    >`
    WITH updated AS (${reserveOneSql(...update)}),
    asked AS (
      SELECT * FROM unnest(CAST(${kinds} AS text[]), CAST(${starts} AS bigint[]),
        CAST(${ends} AS bigint[]), CAST(${asks} AS bigint[]), CAST(${limits} AS bigint[]))
        AS a(kind, window_start, window_end, n, window_limit)
    ),
    windows AS (
      INSERT INTO billing_rate_window AS w
        (subscription_id, kind, window_start, window_end, window_limit, used, reserved, updated_at)
      SELECT CAST(${sub} AS text), a.kind, a.window_start, a.window_end, a.window_limit, 0, a.n,
        ${int(now)}
      FROM asked a
      -- Reads updated: the period's rows are locked first; none is taken if they refused.
      WHERE a.n <= a.window_limit AND (SELECT count(*) FROM updated) = 1
      ORDER BY a.kind
      ON CONFLICT (subscription_id, kind, window_start) DO UPDATE
      SET reserved = w.reserved + excluded.reserved, window_limit = excluded.window_limit,
        updated_at = excluded.updated_at
      WHERE w.used + w.reserved + excluded.reserved <= excluded.window_limit
      RETURNING w.kind, w.used, w.reserved
    ),
    held AS (
      INSERT INTO billing_reservation
        (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at, owner, sent_at)
      SELECT ${requestId}, ${userId}, ${sub}, ${int(period)}, ${int(rn)}, ${int(inN)},
        u.tokens_output_last_reserved, CAST(${modelId} AS text), CAST(${chatId} AS text),
        ${int(now)}, CAST(${owner} AS text), CAST(${sentAt} AS bigint)
      FROM updated u
      WHERE 1 / (CASE WHEN (SELECT count(*) FROM windows) = (SELECT count(*) FROM asked)
          THEN 1 ELSE 0 END) = 1
      RETURNING request_id
    ),
    holds AS (
      INSERT INTO billing_rate_window_hold (request_id, kind, subscription_id, window_start, held)
      SELECT h.request_id, a.kind, CAST(${sub} AS text), a.window_start, a.n
      FROM held h CROSS JOIN asked a
    )
    SELECT ${PERIOD_COUNTER_COLUMNS}, tokens_output_last_reserved, CAST(NULL AS text) AS kind,
      CAST(NULL AS bigint) AS used, CAST(NULL AS bigint) AS reserved
    FROM updated CROSS JOIN held
    UNION ALL
    SELECT 0, 0, 0, 0, 0, 0, 0, windows.kind, windows.used, windows.reserved
    FROM windows CROSS JOIN held`
  },
)

/**
 * What a close batch holding a reservation of a plan with windows adds to store.pg.ts's
 * closeMany statement, after its CTEs (it reads `taken`, the reservations deleted, and
 * `moved`): each taken reservation's holds are deleted, and each window it held moves
 * by the real requests or tokens (weighted input + output) to `used` and what was held
 * out of `reserved`. Whoever deletes the reservation deletes its holds, so a window
 * moves once. The window rows are locked after the period's (the DELETE reads `moved`),
 * in key order.
 */
export const windowCloseCtes = (now: number) => sql`,
    window_held AS (
      DELETE FROM billing_rate_window_hold h USING taken t
      WHERE h.request_id = t.request_id AND (SELECT count(*) FROM moved) >= 0
      RETURNING h.subscription_id, h.kind, h.window_start, h.held,
        CASE WHEN h.kind LIKE 'tokens%' THEN t.used_input + t.used_output
          ELSE t.used_requests END AS used
    ), window_sums AS (
      SELECT subscription_id, kind, window_start, sum(used) AS used, sum(held) AS held
      FROM window_held GROUP BY subscription_id, kind, window_start
    ), window_locked AS (
      SELECT w.subscription_id, w.kind, w.window_start
      FROM billing_rate_window w JOIN window_sums k ON ${sameWindow(sql`k`, sql`w`)}
      ORDER BY w.subscription_id, w.kind, w.window_start
      FOR UPDATE OF w
    ), window_moved AS (
      UPDATE billing_rate_window w
      SET used = w.used + k.used, reserved = w.reserved - k.held, updated_at = ${int(now)}
      FROM window_locked l JOIN window_sums k ON ${sameWindow(sql`k`, sql`l`)}
      WHERE ${sameWindow(sql`w`, sql`l`)}
      RETURNING w.kind
    )`

const sameWindow = (a: RawBuilder<unknown>, b: RawBuilder<unknown>) =>
  sql`${a}.subscription_id = ${b}.subscription_id AND ${a}.kind = ${b}.kind
        AND ${a}.window_start = ${b}.window_start`

const DIVISION_BY_ZERO = '22012'
/** How many of reserveWindowedQuery's arguments are reserveOneSql's (ReserveArgs). */
const RESERVE_ARGS = 11
