import { type Kysely, sql } from 'kysely'
import { type PreparedQuery, prepared } from '../../db/prepared.ts'
import type { DB, ReservationRow } from '../../db/tables.ts'
import type { RateWindow } from './quotas.ts'
import type {
  CloseInput,
  CounterKey,
  ReservationFields,
  WindowAfter,
  WindowAsk,
} from './store.types.ts'
import { countsTokens } from './windows.ts'

/**
 * The rate windows on SQLite (docs/quotas.md), the statements store.sqlite.ts adds to a
 * reservation or a close of a plan WITH windows, inside the same transaction (and, for a
 * reservation, the same savepoint): plans without windows run none of them. The rules
 * are store.windows.pg.ts's, statement by statement.
 */

/** prepared() queries run inside the caller's transaction (store.sqlite.ts's RawStatements). */
interface Statements {
  rows<Args extends unknown[], Row>(query: PreparedQuery<Args, Row>, ...args: Args): Row[]
}

/**
 * Each window the plan sets takes the ask (created when the window opens), only while
 * used + reserved + ask <= limit, and the reservation's holds are written. Returns the
 * windows after it, or null when one refused: the caller undoes its savepoint.
 */
export function reserveWindows(
  run: Statements,
  key: CounterKey,
  fields: ReservationFields,
  windows: WindowAsk,
): WindowAfter[] | null {
  const asked = JSON.stringify(windows.map((w) => [w.kind, w.start, w.end, w.n, w.limit]))
  const rows = run.rows(windowUpsertQuery, key.subscriptionId, asked, fields.now)
  if (rows.length < windows.length) return null
  run.rows(insertHoldsQuery, fields.requestId, key.subscriptionId, asked)
  return rows.map((row) => ({
    metric: row.kind,
    used: Number(row.used),
    reserved: Number(row.reserved),
    last_reserved: 0,
  }))
}

const windowUpsertQuery = prepared(
  (_db: Kysely<DB>, subscriptionId: string, askedJson: string, now: number) => sql<{
    kind: RateWindow
    used: number
    reserved: number
  }>`
    INSERT INTO billing_rate_window AS w
      (subscription_id, kind, window_start, window_end, window_limit, used, reserved, updated_at)
    SELECT ${subscriptionId}, value ->> 0, value ->> 1, value ->> 2, value ->> 4, 0,
      value ->> 3, ${now}
    FROM json_each(${askedJson})
    WHERE (value ->> 3) <= (value ->> 4)
    ON CONFLICT (subscription_id, kind, window_start) DO UPDATE
    SET reserved = w.reserved + excluded.reserved, window_limit = excluded.window_limit,
      updated_at = excluded.updated_at
    WHERE w.used + w.reserved + excluded.reserved <= excluded.window_limit
    RETURNING kind, used, reserved`,
)

const insertHoldsQuery = prepared(
  (_db: Kysely<DB>, requestId: string, subscriptionId: string, askedJson: string) => sql`
    INSERT INTO billing_rate_window_hold (request_id, kind, subscription_id, window_start, held)
    SELECT ${requestId}, value ->> 0, ${subscriptionId}, value ->> 1, value ->> 3
    FROM json_each(${askedJson})`,
)

/**
 * The windows' share of a close batch: the holds of every reservation the batch closed
 * (whoever deleted the reservation) are deleted, and each window moves by the real
 * requests or tokens (weighted input + output) to `used` and what was held out of
 * `reserved`, summed per window row.
 */
export function closeWindows(
  run: Statements,
  inputs: CloseInput[],
  closed: Array<ReservationRow | undefined>,
): void {
  const actualOf = new Map<string, CloseInput>()
  for (const [i, reservation] of closed.entries()) {
    if (reservation && inputs[i]!.windowed) actualOf.set(reservation.request_id, inputs[i]!)
  }
  if (actualOf.size === 0) return
  const holds = run.rows(takeHoldsQuery, JSON.stringify([...actualOf.keys()]))
  const moves = new Map<string, WindowMove>()
  for (const hold of holds) {
    const { actual } = actualOf.get(hold.request_id)!
    const id = `${hold.subscription_id}\u0000${hold.kind}\u0000${hold.window_start}`
    const move = moves.get(id) ?? { ...hold, used: 0, held: 0 }
    move.used += countsTokens(hold.kind)
      ? actual.tokens_input + actual.tokens_output
      : actual.requests
    move.held += Number(hold.held)
    moves.set(id, move)
  }
  const now = Math.max(...inputs.map((input) => input.now))
  if (moves.size > 0) run.rows(moveWindowsQuery, JSON.stringify([...moves.values()]), now)
}

interface WindowMove {
  subscription_id: string
  kind: string
  window_start: number
  used: number
  held: number
}

const takeHoldsQuery = prepared(
  (_db: Kysely<DB>, requestIdsJson: string) => sql<{
    request_id: string
    subscription_id: string
    kind: string
    window_start: number
    held: number
  }>`
    DELETE FROM billing_rate_window_hold
    WHERE request_id IN (SELECT value FROM json_each(${requestIdsJson}))
    RETURNING request_id, subscription_id, kind, window_start, held`,
)

const moveWindowsQuery = prepared(
  (_db: Kysely<DB>, movesJson: string, now: number) => sql`
    UPDATE billing_rate_window AS w
    SET used = w.used + k.used, reserved = w.reserved - k.held, updated_at = ${now}
    FROM (
      SELECT value ->> 'subscription_id' AS subscription_id, value ->> 'kind' AS kind,
        value ->> 'window_start' AS window_start, value ->> 'used' AS used,
        value ->> 'held' AS held
      FROM json_each(${movesJson})
    ) AS k
    WHERE w.subscription_id = k.subscription_id AND w.kind = k.kind
      AND w.window_start = k.window_start`,
)
