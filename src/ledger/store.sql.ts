import { type RawBuilder, sql } from 'kysely'
import type { Metric } from '../../db/tables.ts'
import type { CounterKey, ReserveAsk, WindowAfter } from './store.types.ts'

/**
 * The SQL both databases' stores share (store.sqlite.ts, store.pg.ts): the
 * admission rule, written here once, and the one-reservation UPDATE built on it.
 */

/**
 * The value that belongs to a counter row's own metric, one of three: how one
 * UPDATE moves the requests, tokens_input and tokens_output rows together.
 */
export const perMetric = (metric: RawBuilder<unknown>, r: unknown, i: unknown, o: unknown) =>
  sql`CASE ${metric} WHEN 'requests' THEN ${r} WHEN 'tokens_input' THEN ${i} ELSE ${o} END`

/** A bound integer parameter; PostgreSQL cannot infer its type inside CASE and arithmetic. */
export const int = (value: number) => sql`CAST(${value} AS bigint)`

type AskColumn =
  | 'requests'
  | 'requestsLimit'
  | 'inFlightLimit'
  | 'tokensInput'
  | 'tokensInputLimit'
  | 'tokensOutput'
  | 'tokensOutputLimit'
  | 'outputSettled'

/** A counter row's columns and a key's asks as SQL: what admissionRule compares. */
export interface RuleColumns {
  counter: Record<'metric' | 'used' | 'reserved', RawBuilder<unknown>>
  ask: Record<AskColumn, RawBuilder<unknown>>
}

/**
 * The admission rule's parts, each true when the counter row can take the ask.
 * requests and tokens_input must fit whole (used + reserved + n <= limit), and
 * the requests row also bounds the requests in flight (reserved + n <= in-flight
 * limit). tokens_output, its output unknown until produced: with `settled` (1)
 * only used < limit, the ask reserved whole; otherwise used + reserved < limit,
 * the ask capped at what remains (`capped`, one reservation) or, for a batch
 * that must admit each of its requests in full, used + reserved + n <= limit
 * (`whole`).
 */
function ruleParts({ counter: c, ask: k }: RuleColumns, output: 'capped' | 'whole') {
  const unsettled =
    output === 'whole'
      ? sql`${c.used} + ${c.reserved} + ${k.tokensOutput} <= ${k.tokensOutputLimit}`
      : sql`${c.used} + ${c.reserved} < ${k.tokensOutputLimit}`
  return {
    requests: sql`${c.used} + ${c.reserved} + ${k.requests} <= ${k.requestsLimit}`,
    inFlight: sql`${c.reserved} + ${k.requests} <= ${k.inFlightLimit}`,
    tokensInput: sql`${c.used} + ${c.reserved} + ${k.tokensInput} <= ${k.tokensInputLimit}`,
    tokensOutput: sql`CASE WHEN ${k.outputSettled} = 1 THEN ${c.used} < ${k.tokensOutputLimit} ELSE ${unsettled} END`,
  }
}

/**
 * The admission rule, for every reserve statement: a CASE over the counter
 * row's metric that is true when the row can take the ask (ruleParts).
 */
export function admissionRule(columns: RuleColumns, output: 'capped' | 'whole') {
  const rule = ruleParts(columns, output)
  return sql`CASE ${columns.counter.metric}
        WHEN 'requests' THEN ${rule.requests}
          AND ${rule.inFlight}
        WHEN 'tokens_input' THEN ${rule.tokensInput}
        WHEN 'tokens_output' THEN ${rule.tokensOutput}
        ELSE 1 = 0 END`
}

/**
 * Why a reservation was refused, by the same rule: per counter row, whether it
 * is within its quota (0 or 1) and, for the requests row, within the in-flight limit.
 */
export function refusalColumns(columns: RuleColumns) {
  const rule = ruleParts(columns, 'capped')
  const { metric } = columns.counter
  return {
    withinQuota: sql<number>`CASE WHEN ${perMetric(
      metric,
      rule.requests,
      rule.tokensInput,
      rule.tokensOutput,
    )} THEN 1 ELSE 0 END`,
    withinInFlight: sql<number>`CASE WHEN ${metric} <> 'requests' OR ${rule.inFlight} THEN 1 ELSE 0 END`,
  }
}

/** admissionRule's columns for a batch's UPDATE of counter c FROM the sums k. */
export const batchRuleColumns: RuleColumns = {
  counter: { metric: sql`c.metric`, used: sql`c.used`, reserved: sql`c.reserved` },
  ask: {
    requests: sql`k.requests`,
    requestsLimit: sql`k.requests_limit`,
    inFlightLimit: sql`k.in_flight_limit`,
    tokensInput: sql`k.tokens_input`,
    tokensInputLimit: sql`k.tokens_input_limit`,
    tokensOutput: sql`k.tokens_output`,
    tokensOutputLimit: sql`k.tokens_output_limit`,
    outputSettled: sql`k.output_settled`,
  },
}

/** The values reserveOneSql's UPDATE binds, in order. */
export type ReserveArgs = [
  subscriptionId: string,
  periodStart: number,
  requests: number,
  requestsLimit: number,
  inFlightLimit: number,
  tokensInput: number,
  tokensInputLimit: number,
  tokensOutput: number,
  tokensOutputLimit: number,
  /** 1 when tokens_output is admitted on settled usage. */
  outputSettled: number,
  now: number,
]

export function reserveArgs(key: CounterKey, ask: ReserveAsk, now: number): ReserveArgs {
  const { requests: r, tokens_input: i, tokens_output: o } = ask
  const settled = ask.outputAdmission === 'settled' ? 1 : 0
  return [
    ...([key.subscriptionId, key.periodStart, r.n, r.limit, ask.inFlightLimit] as const),
    ...([i.n, i.limit, o.n, o.limit, settled, now] as const),
  ]
}

/** admissionRule's columns for one reservation's ask against an unaliased counter row. */
export function singleRuleColumns(
  ...[, , rn, rl, mc, inN, il, on, ol, settled]: ReserveArgs
): RuleColumns {
  return {
    counter: { metric: sql`metric`, used: sql`used`, reserved: sql`reserved` },
    ask: {
      ...{ requests: int(rn), requestsLimit: int(rl), inFlightLimit: int(mc) },
      ...{ tokensInput: int(inN), tokensInputLimit: int(il) },
      ...{ tokensOutput: int(on), tokensOutputLimit: int(ol), outputSettled: int(settled) },
    },
  }
}

/**
 * The atomic check-and-reserve for all three metrics in ONE statement, each row
 * under its own condition (admissionRule, `capped`). Rows that fail their
 * condition are not updated and not returned: the caller undoes the rest unless
 * all three came back. `last_reserved` carries the amount each row added.
 * SQLite runs it in a transaction with the reservation's INSERT; PostgreSQL
 * wraps it in one statement with it.
 */
export function reserveOneSql(...args: ReserveArgs) {
  const [sub, period, rn, , , inN, , on, ol, settled, now] = args
  // Settled admission reserves the ask whole; otherwise it is capped at what remains.
  const capped = sql`CASE WHEN ${int(settled)} = 1 OR ${int(on)} <= ${int(ol)} - used - reserved THEN ${int(on)} ELSE ${int(ol)} - used - reserved END`
  const added = perMetric(sql`metric`, int(rn), int(inN), capped)
  const rule = admissionRule(singleRuleColumns(...args), 'capped')
  return sql<{ metric: Metric; used: number; reserved: number; last_reserved: number }>`
    UPDATE billing_quota_counter
    SET last_reserved = ${added}, reserved = reserved + ${added}, updated_at = ${int(now)}
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}
      AND ${rule}
    RETURNING metric, used, reserved, last_reserved`
}

/** The values windowUpsertSql binds, in order. */
export type WindowArgs = [
  subscriptionId: string,
  minuteStart: number,
  dayStart: number,
  tokens: number,
  requestsPerMinute: number,
  tokensPerMinute: number,
  requestsPerDay: number,
  tokensPerDay: number,
  now: number,
  /** 1 when the plan has windows; 0 makes the statement a no-op (one SQL text for every plan). */
  windowed: number,
]

export const DAY_SECONDS = 86_400

export function windowArgs(key: CounterKey, ask: ReserveAsk, now: number): WindowArgs {
  const w = ask.windows
  if (!w) return [key.subscriptionId, 0, 0, 0, 0, 0, 0, 0, now, 0]
  const { limits: l } = w
  const day = w.minuteStart - (w.minuteStart % DAY_SECONDS)
  return [
    ...([key.subscriptionId, w.minuteStart, day, w.tokens] as const),
    ...([
      l.requests_per_minute,
      l.tokens_per_minute,
      l.requests_per_day,
      l.tokens_per_day,
    ] as const),
    ...([now, 1] as const),
  ]
}

/**
 * The rate windows' check-and-reserve (docs/quotas.md): the four window counter
 * rows (one request and the asked tokens per minute and per UTC day) are created
 * by this same upsert when the window opens, or take the ask only when
 * used + reserved + ask <= limit, as the period's requests row does. A row that
 * refuses is neither written nor returned: the caller refuses unless all four
 * came back (SQLite undoes the savepoint; PostgreSQL's guard divides by zero).
 * A window without a limit is compared with NO_LIMIT, so one SQL text serves
 * every plan. `after`: a condition that makes PostgreSQL run another CTE first (the
 * lock order, store.pg.ts).
 */
export function windowUpsertSql(args: WindowArgs, after: RawBuilder<unknown> = sql`1 = 1`) {
  const [sub, minute, day, tokens, rpm, tpm, rpd, tpd, now, windowed] = args
  const row = (start: number, metric: string, n: RawBuilder<unknown>, limit: number) =>
    sql`SELECT CAST(${sub} AS text) AS subscription_id, ${int(start)} AS period_start,
      ${sql.lit(metric)} AS metric, ${n} AS n, ${int(limit)} AS lim`
  const one = sql`CAST(${sql.lit(1)} AS bigint)`
  const limitOf = sql`CASE excluded.metric WHEN 'requests_per_minute' THEN ${int(rpm)}
      WHEN 'tokens_per_minute' THEN ${int(tpm)} WHEN 'requests_per_day' THEN ${int(rpd)}
      ELSE ${int(tpd)} END`
  return sql<{ metric: string; period_start: number; used: number; reserved: number }>`
    INSERT INTO billing_quota_counter AS c
      (subscription_id, period_start, metric, used, reserved, last_reserved, updated_at)
    SELECT w.subscription_id, w.period_start, w.metric, 0, w.n, w.n, ${int(now)}
    FROM (${row(minute, 'requests_per_minute', one, rpm)}
      UNION ALL ${row(minute, 'tokens_per_minute', int(tokens), tpm)}
      UNION ALL ${row(day, 'requests_per_day', one, rpd)}
      UNION ALL ${row(day, 'tokens_per_day', int(tokens), tpd)}) AS w
    WHERE w.n <= w.lim AND ${int(windowed)} = 1 AND ${after}
    ON CONFLICT (subscription_id, period_start, metric) DO UPDATE
    SET reserved = c.reserved + excluded.reserved, last_reserved = excluded.reserved,
      updated_at = excluded.updated_at
    WHERE c.used + c.reserved + excluded.reserved <= ${limitOf}
    RETURNING metric, period_start, used, reserved`
}

/** The window counters' metrics, never the period's (a window may start when the period does). */
export const WINDOW_METRICS = [
  'requests_per_minute',
  'tokens_per_minute',
  'requests_per_day',
  'tokens_per_day',
] as const

/** A window row as windowUpsertSql returns it, as the service reads it. */
export const windowAfter = (row: {
  metric: string
  used: number
  reserved: number
}): WindowAfter => ({
  metric: row.metric as WindowAfter['metric'],
  used: Number(row.used),
  reserved: Number(row.reserved),
  last_reserved: 0,
})
