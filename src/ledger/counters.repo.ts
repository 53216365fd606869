import { sql } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { Db, Metric } from '../../db/tables.ts'
import {
  counterColumns,
  int,
  PERIOD_COUNTER_COLUMNS,
  type PeriodCounters,
  refusalColumns,
  reserveArgs,
  singleRuleColumns,
} from './store.sql.ts'
import type { CounterKey, ReserveAsk } from './store.types.ts'

/** Creates the period's counter row if missing (idempotent; done once per cache fill, not per request). */
export async function ensureCounters(db: Db, key: CounterKey, now: number): Promise<void> {
  await db
    .insertInto('billing_quota_counter')
    .values({ subscription_id: key.subscriptionId, period_start: key.periodStart, updated_at: now })
    .onConflict((oc) => oc.columns(['subscription_id', 'period_start']).doNothing())
    .execute()
}

/** One metric's counter of a period. */
export interface MetricCounter {
  metric: Metric
  used: number
  reserved: number
}

/** A period's counter row as one counter per metric. */
function perMetric(row: PeriodCounters): MetricCounter[] {
  return [
    {
      metric: 'requests',
      used: Number(row.requests_used),
      reserved: Number(row.requests_reserved),
    },
    {
      metric: 'tokens_input',
      used: Number(row.tokens_input_used),
      reserved: Number(row.tokens_input_reserved),
    },
    {
      metric: 'tokens_output',
      used: Number(row.tokens_output_used),
      reserved: Number(row.tokens_output_reserved),
    },
  ]
}

/** The period's counters, one per metric; none when the period has no counter row yet. */
export async function readCounters(db: Db, key: CounterKey): Promise<MetricCounter[]> {
  const row = await db
    .selectFrom('billing_quota_counter')
    .select(PERIOD_COLUMN_NAMES)
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .executeTakeFirst()
  return row ? perMetric(row) : []
}

const PERIOD_COLUMN_NAMES = [
  'requests_used',
  'requests_reserved',
  'tokens_input_used',
  'tokens_input_reserved',
  'tokens_output_used',
  'tokens_output_reserved',
] as const satisfies ReadonlyArray<keyof PeriodCounters>

/** The counters of many (subscription, period) keys in one query (the admin list). */
export async function readCountersOf(db: Db, keys: CounterKey[]) {
  if (keys.length === 0) return []
  const rows = await db
    .selectFrom('billing_quota_counter')
    .select(['subscription_id', 'period_start', ...PERIOD_COLUMN_NAMES])
    .where((eb) =>
      eb.or(
        keys.map((key) =>
          eb.and([
            eb('subscription_id', '=', key.subscriptionId),
            eb('period_start', '=', key.periodStart),
          ]),
        ),
      ),
    )
    .execute()
  return rows.flatMap(({ subscription_id, period_start, ...row }) =>
    perMetric(row).map((counter) => ({ subscription_id, period_start, ...counter })),
  )
}

/**
 * The counters of a refused reservation, each judged by the admission rule
 * (store.sql.ts) against the ask: within its quota, and for requests within
 * the in-flight limit. Read after the refusal, outside its statement; none
 * when the period has no counter row.
 */
export async function readRefusal(db: Db, key: CounterKey, ask: ReserveAsk) {
  // The rule reads no time: 0 stands for reserveArgs' `now`, which this query does not bind.
  const { rows } = await readRefusalQuery(db, ...reserveArgs(key, ask, 0))
  const [row] = rows
  if (!row) return []
  const within: Record<Metric, unknown> = {
    requests: row.within_requests,
    tokens_input: row.within_tokens_input,
    tokens_output: row.within_tokens_output,
  }
  return perMetric(row).map((counter) => ({
    ...counter,
    withinQuota: Number(within[counter.metric]) === 1,
    withinInFlight: counter.metric !== 'requests' || Number(row.within_in_flight) === 1,
  }))
}

const readRefusalQuery = prepared((_db, ...args: Parameters<typeof singleRuleColumns>) => {
  const [sub, period] = args
  const judged = refusalColumns(singleRuleColumns(...args))
  return sql<
    PeriodCounters & {
      within_requests: number
      within_tokens_input: number
      within_tokens_output: number
      within_in_flight: number
    }
  >`
    SELECT ${PERIOD_COUNTER_COLUMNS},
      ${judged.withinQuota.requests} AS within_requests,
      ${judged.withinQuota.tokens_input} AS within_tokens_input,
      ${judged.withinQuota.tokens_output} AS within_tokens_output,
      ${judged.withinInFlight} AS within_in_flight
    FROM billing_quota_counter
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}`
})

/** Applies a settle or release to the period's counters at once: used += used[m], reserved -= reserved[m]. */
export async function moveCounters(
  db: Db,
  key: CounterKey,
  delta: { used: Record<Metric, number>; reserved: Record<Metric, number> },
  now: number,
) {
  const { used: u, reserved: r } = delta
  await moveCountersQuery(
    db,
    key.subscriptionId,
    key.periodStart,
    u.requests,
    u.tokens_input,
    u.tokens_output,
    r.requests,
    r.tokens_input,
    r.tokens_output,
    now,
  )
}

const moveCountersQuery = prepared(
  (
    _db,
    sub: string,
    period: number,
    ur: number,
    ui: number,
    uo: number,
    rr: number,
    ri: number,
    ro: number,
    now: number,
  ) => {
    const { requests: r, tokens_input: i, tokens_output: o } = counterColumns()
    return sql`
    UPDATE billing_quota_counter
    SET requests_used = ${r.used} + ${int(ur)}, tokens_input_used = ${i.used} + ${int(ui)},
      tokens_output_used = ${o.used} + ${int(uo)},
      requests_reserved = ${r.reserved} - ${int(rr)},
      tokens_input_reserved = ${i.reserved} - ${int(ri)},
      tokens_output_reserved = ${o.reserved} - ${int(ro)},
      updated_at = ${int(now)}
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}`
  },
)
