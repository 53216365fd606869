import { type RawBuilder, sql } from 'kysely'
import type { Metric } from '../../db/tables.ts'
import type { CounterKey, ReserveAsk } from './store.types.ts'

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
