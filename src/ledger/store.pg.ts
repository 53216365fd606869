import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../db/client.ts'
import { prepared } from '../../db/prepared.ts'
import type { Db, ReservationRow } from '../../db/tables.ts'
import type { TokenClass } from './amounts.ts'
import {
  admissionRule,
  batchRuleColumns,
  countersAfter,
  int,
  PERIOD_COUNTER_COLUMNS,
  type PeriodCounters,
  type ReserveArgs,
  reserveArgs,
  reserveOneSql,
} from './store.sql.ts'
import type { CloseInput, CounterAfter, DialectStore, ReserveInput } from './store.types.ts'

/**
 * The ledger's writes on PostgreSQL, side by side with store.sqlite.ts: the
 * same factory, then reserveOne, reserveMany and closeMany, each followed by
 * its SQL, then what only PostgreSQL needs (the lock order).
 */
export function postgresStore(database: Database): DialectStore {
  const { db } = database
  return {
    // PostgreSQL: each kind is ONE statement per batch (data-modifying CTEs), so a batch
    // costs one round trip and its counter rows stay locked for one statement. store.ts
    // batches the closes and the reserves apart (each kind keeps a batch in flight of its
    // own: a statement has no transaction to share), so a batch holds one kind. A batch of
    // reserves that cannot admit every request in full throws, having changed nothing, and
    // the batcher decides each alone (reserveOne): the fallback that SQLite runs inside
    // its transaction runs here one statement a request.
    async write(closes, reserves) {
      if (closes.length > 0 && reserves.length > 0) {
        throw new Error('the PostgreSQL ledger writes one kind per batch (store.ts)')
      }
      if (closes.length > 0) {
        return { closed: await closeMany(db, closes), reserved: [], reservesAlone: false }
      }
      const reserved =
        reserves.length === 1
          ? [await reserveOne(db, reserves[0]!)]
          : await reserveMany(db, reserves)
      return { closed: [], reserved, reservesAlone: false }
    },
  }
}

/**
 * The whole reservation in ONE statement, so the period's counter row is
 * locked for one statement instead of across round trips (with one busy user
 * every request needs the same row). The row is updated under reserveOneSql's
 * rule and the reservation row written from what it returned; a refused
 * reservation updates no row, so the INSERT reads none and writes none, and
 * the statement returns nothing. Returns the counters after the change, or
 * null when some metric refused.
 */
async function reserveOne(
  db: Db,
  { key, ask, fields }: ReserveInput,
): Promise<CounterAfter[] | null> {
  const { rows } = await reserveOneQuery(
    db,
    ...reserveArgs(key, ask, fields.now),
    fields.requestId,
    fields.userId,
    fields.modelId,
    fields.chatId,
    fields.owner,
    fields.sentAt,
  )
  const [updated] = rows
  if (!updated) return null
  return countersAfter(updated, {
    requests: ask.requests.n,
    tokens_input: ask.tokens_input.n,
    tokens_output: Number(updated.tokens_output_last_reserved),
  })
}

const reserveOneQuery = prepared(
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
    ]
  ) => {
    const update = args.slice(0, RESERVE_ARGS) as ReserveArgs
    const [sub, period, rn, , , inN, , , , , now] = update
    const [requestId, userId, modelId, chatId, owner, sentAt] = args.slice(RESERVE_ARGS)
    return sql<PeriodCounters & { tokens_output_last_reserved: number }>`
    WITH updated AS (${reserveOneSql(...update)}),
    held AS (
      INSERT INTO billing_reservation
        (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at, owner, sent_at)
      SELECT ${requestId}, ${userId}, ${sub}, ${int(period)}, ${int(rn)}, ${int(inN)},
        tokens_output_last_reserved, CAST(${modelId} AS text), CAST(${chatId} AS text),
        ${int(now)}, CAST(${owner} AS text), CAST(${sentAt} AS bigint)
      FROM updated
      RETURNING request_id
    )
    SELECT updated.* FROM updated CROSS JOIN held`
  },
)

/**
 * The reservations of many requests in ONE statement, all or
 * none: each period's counter row takes the SUM of its requests' asks under the same
 * conditions as reserveOneSql, but whole (admissionRule `whole`: none is capped), so
 * it succeeds only when every request would have been admitted in full one
 * after the other. Otherwise the guard divides by zero, nothing changes, and
 * the caller falls back to one reservation at a time (reserveOne),
 * which decides refusals and caps exactly. The counter rows are locked in key
 * order, as closeMany does. Returns each input's counters after the
 * batch, with last_reserved = what that input reserved.
 */
async function reserveMany(db: Db, inputs: ReserveInput[]): Promise<CounterAfter[][]> {
  const column = <T>(pick: (input: ReserveInput) => T) => inputs.map(pick)
  const { rows } = await reserveManyQuery(
    db,
    column((i) => i.fields.requestId),
    column((i) => i.fields.userId),
    column((i) => i.key.subscriptionId),
    column((i) => i.key.periodStart),
    column((i) => i.ask.requests.n),
    column((i) => i.ask.requests.limit),
    column((i) => i.ask.inFlightLimit),
    column((i) => i.ask.tokens_input.n),
    column((i) => i.ask.tokens_input.limit),
    column((i) => i.ask.tokens_output.n),
    column((i) => i.ask.tokens_output.limit),
    column((i) => (i.ask.outputAdmission === 'settled' ? 1 : 0)),
    column((i) => i.fields.modelId),
    column((i) => i.fields.chatId),
    column((i) => i.fields.owner),
    column((i) => i.fields.sentAt),
    Math.max(...column((i) => i.fields.now)),
  )
  const perInput: CounterAfter[][] = []
  for (const { position, ...row } of rows) {
    const { requests, tokens_input, tokens_output } = inputs[Number(position) - 1]!.ask
    perInput[Number(position) - 1] = countersAfter(row, {
      requests: requests.n,
      tokens_input: tokens_input.n,
      tokens_output: tokens_output.n,
    })
  }
  return perInput
}

const reserveManyQuery = prepared(
  (
    _db,
    requestIds: string[],
    userIds: string[],
    subscriptionIds: string[],
    periodStarts: number[],
    requests: number[],
    requestsLimits: number[],
    inFlightLimits: number[],
    tokensInput: number[],
    tokensInputLimits: number[],
    tokensOutput: number[],
    tokensOutputLimits: number[],
    outputSettled: number[],
    modelIds: Array<string | null>,
    chatIds: Array<string | null>,
    owners: string[],
    sentAts: Array<number | null>,
    now: number,
  ) => sql<PeriodCounters & { position: number }>`
    WITH input AS (
      SELECT * FROM unnest(CAST(${requestIds} AS text[]), CAST(${userIds} AS text[]),
        CAST(${subscriptionIds} AS text[]), CAST(${periodStarts} AS bigint[]),
        CAST(${requests} AS bigint[]), CAST(${requestsLimits} AS bigint[]),
        CAST(${inFlightLimits} AS bigint[]),
        CAST(${tokensInput} AS bigint[]), CAST(${tokensInputLimits} AS bigint[]),
        CAST(${tokensOutput} AS bigint[]), CAST(${tokensOutputLimits} AS bigint[]),
        CAST(${outputSettled} AS integer[]),
        CAST(${modelIds} AS text[]), CAST(${chatIds} AS text[]), CAST(${owners} AS text[]),
        CAST(${sentAts} AS bigint[]))
        WITH ORDINALITY AS i(request_id, user_id, subscription_id, period_start, requests,
          requests_limit, in_flight_limit, tokens_input, tokens_input_limit, tokens_output,
          tokens_output_limit, output_settled, model_id, chat_id, owner, sent_at, position)
    ), asks AS (
      SELECT subscription_id, period_start, sum(requests) AS requests,
        min(requests_limit) AS requests_limit, min(in_flight_limit) AS in_flight_limit,
        sum(tokens_input) AS tokens_input, min(tokens_input_limit) AS tokens_input_limit,
        sum(tokens_output) AS tokens_output, min(tokens_output_limit) AS tokens_output_limit,
        min(output_settled) AS output_settled
      FROM input GROUP BY subscription_id, period_start
    ), locked AS (${countersLockedInKeyOrder(sql`asks`)}
    ), updated AS (
      UPDATE billing_quota_counter c
      SET requests_reserved = c.requests_reserved + k.requests,
        tokens_input_reserved = c.tokens_input_reserved + k.tokens_input,
        tokens_output_reserved = c.tokens_output_reserved + k.tokens_output,
        updated_at = ${int(now)}
      FROM ${lockedRowsWith(sql`asks`)}
      WHERE ${isLockedRow}
        AND ${admissionRule(batchRuleColumns, 'whole')}
      RETURNING c.subscription_id, c.period_start, ${PERIOD_COUNTER_COLUMNS}
    ), held AS (
      INSERT INTO billing_reservation
        (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at, owner, sent_at)
      SELECT request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, ${int(now)}, owner, sent_at
      FROM input
      WHERE 1 / ((SELECT count(*) FROM updated) / (SELECT count(*) FROM asks)) = 1
      RETURNING request_id
    )
    SELECT i.position, u.requests_used, u.requests_reserved, u.tokens_input_used,
      u.tokens_input_reserved, u.tokens_output_used, u.tokens_output_reserved
    FROM input i JOIN updated u
      ON u.subscription_id = i.subscription_id AND u.period_start = i.period_start`,
)

/**
 * The settles and releases of many reservations in ONE
 * statement, so a batch costs one round trip and one commit. Data-modifying
 * CTEs run in one snapshot and commit together: the reservations are deleted
 * (whoever deletes one owns it, so a settle runs once; a request id twice in
 * the batch counts once, for its first item), each counter moves by the sums
 * of (actual, reserved) over its reservations, and one usage row is written
 * per settle (its metrics as columns; a release writes none). The counter rows are locked in key order
 * first, so two batches over the same users cannot deadlock. Returns, per
 * input, the reservation it closed, or undefined when it was already closed.
 * SQLite has no data-modifying CTEs and runs the same steps in a transaction.
 */
async function closeMany(db: Db, inputs: CloseInput[]): Promise<Array<ReservationRow | undefined>> {
  const column = <T>(pick: (input: CloseInput) => T) => inputs.map(pick)
  const classColumn = (name: TokenClass) => column((i) => i.classes?.[name] ?? 0)
  const { rows } = await closeManyQuery(
    db,
    column((i) => i.requestId),
    column((i) => i.actual.requests),
    column((i) => i.actual.tokens_input),
    column((i) => i.actual.tokens_output),
    column((i) => i.usageId),
    column((i) => (i.estimated ? 1 : 0)),
    Math.max(...column((i) => i.now)),
    column((i) => i.raw?.tokens_input ?? null),
    column((i) => i.raw?.tokens_output ?? null),
    column((i) => i.cost?.tokens_input ?? null),
    column((i) => i.cost?.tokens_output ?? null),
    classColumn('cachedInput'),
    classColumn('cacheWrite'),
    classColumn('audioInput'),
    classColumn('reasoning'),
    classColumn('audioOutput'),
    classColumn('image'),
    column((i) => i.status ?? null),
    column((i) => (i.latencyMs === undefined ? null : Math.round(i.latencyMs))),
  )
  const closed = new Map(rows.map(({ position, ...row }) => [Number(position), row]))
  return inputs.map((_, i) => closed.get(i + 1))
}

const closeManyQuery = prepared(
  (
    _db,
    requestIds: string[],
    usedRequests: number[],
    usedInput: number[],
    usedOutput: number[],
    usageIds: string[],
    estimated: number[],
    now: number,
    rawInput: Array<number | null>,
    rawOutput: Array<number | null>,
    costInput: Array<number | null>,
    costOutput: Array<number | null>,
    // The token classes per input.
    cached: number[],
    cacheWrite: number[],
    audioIn: number[],
    reasoning: number[],
    audioOut: number[],
    image: number[],
    status: Array<number | null>,
    latencyMs: Array<number | null>,
  ) => {
    return sql<ReservationRow & { position: number }>`
    WITH input AS (
      SELECT DISTINCT ON (request_id) *
      FROM unnest(CAST(${requestIds} AS text[]), CAST(${usedRequests} AS bigint[]),
        CAST(${usedInput} AS bigint[]), CAST(${usedOutput} AS bigint[]),
        CAST(${usageIds} AS text[]), CAST(${estimated} AS integer[]),
        CAST(${rawInput} AS bigint[]), CAST(${rawOutput} AS bigint[]),
        CAST(${costInput} AS bigint[]), CAST(${costOutput} AS bigint[]),
        CAST(${cached} AS bigint[]), CAST(${cacheWrite} AS bigint[]), CAST(${audioIn} AS bigint[]),
        CAST(${reasoning} AS bigint[]), CAST(${audioOut} AS bigint[]), CAST(${image} AS bigint[]),
        CAST(${status} AS integer[]), CAST(${latencyMs} AS integer[]))
        WITH ORDINALITY AS i(request_id, used_requests, used_input, used_output, usage_id,
          estimated, raw_input, raw_output, cost_input, cost_output, cached_input, cache_write,
          audio_input, reasoning, audio_output, image_tokens, status, latency_ms, position)
      ORDER BY request_id, position
    ), taken AS (
      DELETE FROM billing_reservation r USING input i WHERE r.request_id = i.request_id
      RETURNING r.*, i.used_requests, i.used_input, i.used_output, i.usage_id,
        i.estimated AS usage_estimated, i.raw_input, i.raw_output, i.cost_input, i.cost_output,
        i.cached_input, i.cache_write, i.audio_input, i.reasoning, i.audio_output,
        i.image_tokens, i.status AS usage_status, i.latency_ms, i.position
    ), sums AS (
      SELECT subscription_id, period_start, sum(used_requests) AS used_requests,
        sum(used_input) AS used_input, sum(used_output) AS used_output,
        sum(requests) AS reserved_requests, sum(tokens_input) AS reserved_input,
        sum(tokens_output) AS reserved_output
      FROM taken GROUP BY subscription_id, period_start
    ), locked AS (${countersLockedInKeyOrder(sql`sums`)}
    ), moved AS (
      UPDATE billing_quota_counter c
      SET requests_used = c.requests_used + k.used_requests,
        tokens_input_used = c.tokens_input_used + k.used_input,
        tokens_output_used = c.tokens_output_used + k.used_output,
        requests_reserved = c.requests_reserved - k.reserved_requests,
        tokens_input_reserved = c.tokens_input_reserved - k.reserved_input,
        tokens_output_reserved = c.tokens_output_reserved - k.reserved_output,
        updated_at = ${int(now)}
      FROM ${lockedRowsWith(sql`sums`)}
      WHERE ${isLockedRow}
      RETURNING c.subscription_id
    ), recorded AS (
      INSERT INTO billing_usage (id, user_id, subscription_id, model_id, chat_id, request_id,
        estimated, created_at, requests, tokens_input, tokens_output, raw_input, raw_output,
        cost_input_micros, cost_output_micros, cached_input, cache_write, audio_input, reasoning,
        audio_output, image_tokens, status, latency_ms)
      SELECT usage_id, user_id, subscription_id, model_id, chat_id, request_id, usage_estimated,
        ${int(now)}, used_requests, used_input, used_output, raw_input, raw_output, cost_input,
        cost_output, cached_input, cache_write, audio_input, reasoning, audio_output, image_tokens,
        usage_status, latency_ms
      FROM taken
      WHERE used_requests <> 0 OR used_input <> 0 OR used_output <> 0
      RETURNING id
    )
    SELECT request_id, user_id, subscription_id, period_start, requests, tokens_input,
      tokens_output, model_id, chat_id, created_at, owner, sent_at, position
    FROM taken`
  },
)

/* What only PostgreSQL needs: the lock order of a batch, and the guard's error. */

/**
 * The counter rows of the keys (subscription_id, period_start) in `keys`,
 * locked in key order before a batch updates them: every statement that
 * locks several users' counters takes them in this one order, so two batches
 * cannot deadlock (a single reservation locks one row only).
 */
const countersLockedInKeyOrder = (keys: RawBuilder<unknown>) => sql`
      SELECT c.subscription_id, c.period_start
      FROM billing_quota_counter c JOIN ${keys} k
        ON c.subscription_id = k.subscription_id AND c.period_start = k.period_start
      ORDER BY c.subscription_id, c.period_start
      FOR UPDATE OF c`

/** The locked rows (CTE `locked`, alias l) joined to their key's row of `keys` (alias k). */
const lockedRowsWith = (keys: RawBuilder<unknown>) => sql`locked l JOIN ${keys} k
        ON k.subscription_id = l.subscription_id AND k.period_start = l.period_start`

/** An UPDATE of billing_quota_counter c touches only the rows of `locked`. */
const isLockedRow = sql`c.subscription_id = l.subscription_id
        AND c.period_start = l.period_start`

/** How many of reserveOneQuery's arguments are reserveOneSql's (ReserveArgs). */
const RESERVE_ARGS = 11
