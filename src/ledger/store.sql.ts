import { type RawBuilder, sql } from 'kysely'
import type { Metric } from '../../db/tables.ts'
import type { CounterAfter, CounterKey, ReserveAsk } from './store.types.ts'

/**
 * The SQL both databases' stores share (store.sqlite.ts, store.pg.ts): the
 * admission rule, written here once, and the one-reservation UPDATE built on it.
 */

/** A bound integer parameter; PostgreSQL cannot infer its type inside CASE and arithmetic. */
export const int = (value: number) => sql`CAST(${value} AS bigint)`

/** A period's counter row (billing_quota_counter, one per subscription and period) as the ledger reads it. */
export interface PeriodCounters {
  requests_used: number
  requests_reserved: number
  tokens_input_used: number
  tokens_input_reserved: number
  tokens_output_used: number
  tokens_output_reserved: number
}

/** The columns of PeriodCounters, for a SELECT or a RETURNING (unqualified: SQLite's RETURNING takes none). */
export const PERIOD_COUNTER_COLUMNS = sql.raw(`requests_used, requests_reserved,
      tokens_input_used, tokens_input_reserved, tokens_output_used, tokens_output_reserved`)

/** Each metric's used and reserved columns of a counter row, as SQL. */
export type CounterColumns = Record<Metric, Record<'used' | 'reserved', RawBuilder<unknown>>>

/** The columns of the counter row (`alias` when given: `alias.requests_used`, ...). */
export function counterColumns(alias?: string): CounterColumns {
  const column = (name: string) => sql.ref(alias ? `${alias}.${name}` : name) as RawBuilder<unknown>
  const metric = (m: Metric) => ({ used: column(`${m}_used`), reserved: column(`${m}_reserved`) })
  return {
    requests: metric('requests'),
    tokens_input: metric('tokens_input'),
    tokens_output: metric('tokens_output'),
  }
}

/**
 * The counters after a reservation, per metric (CounterAfter), from the row the
 * reserving UPDATE returned and what the reservation added to each metric.
 */
export function countersAfter(row: PeriodCounters, added: Record<Metric, number>): CounterAfter[] {
  const after = (metric: Metric, used: unknown, reserved: unknown): CounterAfter => ({
    metric,
    used: Number(used),
    reserved: Number(reserved),
    last_reserved: Number(added[metric]),
  })
  return [
    after('requests', row.requests_used, row.requests_reserved),
    after('tokens_input', row.tokens_input_used, row.tokens_input_reserved),
    after('tokens_output', row.tokens_output_used, row.tokens_output_reserved),
  ]
}

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
  counter: CounterColumns
  ask: Record<AskColumn, RawBuilder<unknown>>
}

/**
 * The admission rule's parts, each true when its metric can take the ask.
 * requests and tokens_input must fit whole (used + reserved + n <= limit), and
 * requests also bound the requests in flight (reserved + n <= in-flight
 * limit). tokens_output, its output unknown until produced: with `settled` (1)
 * only used < limit, the ask reserved whole; otherwise used + reserved < limit,
 * the ask capped at what remains (`capped`, one reservation) or, for a batch
 * that must admit each of its requests in full, used + reserved + n <= limit
 * (`whole`).
 */
function ruleParts({ counter: c, ask: k }: RuleColumns, output: 'capped' | 'whole') {
  const { requests: r, tokens_input: i, tokens_output: o } = c
  const unsettled =
    output === 'whole'
      ? sql`${o.used} + ${o.reserved} + ${k.tokensOutput} <= ${k.tokensOutputLimit}`
      : sql`${o.used} + ${o.reserved} < ${k.tokensOutputLimit}`
  return {
    requests: sql`${r.used} + ${r.reserved} + ${k.requests} <= ${k.requestsLimit}`,
    inFlight: sql`${r.reserved} + ${k.requests} <= ${k.inFlightLimit}`,
    tokensInput: sql`${i.used} + ${i.reserved} + ${k.tokensInput} <= ${k.tokensInputLimit}`,
    tokensOutput: sql`CASE WHEN ${k.outputSettled} = 1 THEN ${o.used} < ${k.tokensOutputLimit} ELSE ${unsettled} END`,
  }
}

/**
 * The admission rule, for every reserve statement: true when the period's
 * counter row can take the ask, every metric under its own part (ruleParts).
 * It is the whole WHERE of the reserving UPDATE beside the row's key: the
 * check and the reservation are one statement on one row.
 */
export function admissionRule(columns: RuleColumns, output: 'capped' | 'whole') {
  const rule = ruleParts(columns, output)
  return sql`(${rule.requests}) AND (${rule.inFlight}) AND (${rule.tokensInput})
        AND (${rule.tokensOutput})`
}

/**
 * Why a reservation was refused, by the same rule: per metric, whether it is
 * within its quota (0 or 1), and whether the requests in flight are within
 * their limit.
 */
export function refusalColumns(columns: RuleColumns) {
  const rule = ruleParts(columns, 'capped')
  const flag = (condition: RawBuilder<unknown>) =>
    sql<number>`CASE WHEN ${condition} THEN 1 ELSE 0 END`
  return {
    withinQuota: {
      requests: flag(rule.requests),
      tokens_input: flag(rule.tokensInput),
      tokens_output: flag(rule.tokensOutput),
    } satisfies Record<Metric, RawBuilder<number>>,
    withinInFlight: flag(rule.inFlight),
  }
}

/** admissionRule's columns for a batch's UPDATE of counter row c FROM the sums k. */
export const batchRuleColumns: RuleColumns = {
  counter: counterColumns('c'),
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
    counter: counterColumns(),
    ask: {
      ...{ requests: int(rn), requestsLimit: int(rl), inFlightLimit: int(mc) },
      ...{ tokensInput: int(inN), tokensInputLimit: int(il) },
      ...{ tokensOutput: int(on), tokensOutputLimit: int(ol), outputSettled: int(settled) },
    },
  }
}

/**
 * The atomic check-and-reserve for all three metrics in ONE statement on ONE
 * row: the period's counter row takes the ask only when its WHERE, the whole
 * admission rule (`capped`), holds; a refused reservation updates and returns
 * nothing. tokens_output_last_reserved carries what tokens_output took (capped
 * at what remained, or whole with settled admission); requests and
 * tokens_input take their ask. SQLite runs it in a transaction with the
 * reservation's INSERT; PostgreSQL wraps it in one statement with it.
 */
export function reserveOneSql(...args: ReserveArgs) {
  const [sub, period, rn, , , inN, , on, ol, settled, now] = args
  // Settled admission reserves the ask whole; otherwise it is capped at what remains.
  const room = sql`${int(ol)} - tokens_output_used - tokens_output_reserved`
  const output = sql`CASE WHEN ${int(settled)} = 1 OR ${int(on)} <= ${room} THEN ${int(on)} ELSE ${room} END`
  const rule = admissionRule(singleRuleColumns(...args), 'capped')
  return sql<PeriodCounters & { tokens_output_last_reserved: number }>`
    UPDATE billing_quota_counter
    SET requests_reserved = requests_reserved + ${int(rn)},
      tokens_input_reserved = tokens_input_reserved + ${int(inN)},
      tokens_output_reserved = tokens_output_reserved + ${output},
      tokens_output_last_reserved = ${output}, updated_at = ${int(now)}
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}
      AND ${rule}
    RETURNING ${PERIOD_COUNTER_COLUMNS}, tokens_output_last_reserved`
}
