import { sql } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { Db, Metric } from '../../db/tables.ts'
import { METRICS } from './amounts.ts'
import { int, perMetric, refusalColumns, reserveArgs, singleRuleColumns } from './store.sql.ts'
import type { CounterKey, ReserveAsk } from './store.types.ts'

/** Creates the period's counters if missing (idempotent; done once per cache fill, not per request). */
export async function ensureCounters(db: Db, key: CounterKey, now: number): Promise<void> {
  await db
    .insertInto('billing_quota_counter')
    .values(
      METRICS.map((metric) => ({
        subscription_id: key.subscriptionId,
        period_start: key.periodStart,
        metric,
        used: 0,
        reserved: 0,
        last_reserved: 0,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['subscription_id', 'period_start', 'metric']).doNothing())
    .execute()
}

export async function readCounters(db: Db, key: CounterKey) {
  return db
    .selectFrom('billing_quota_counter')
    .select(['metric', 'used', 'reserved'])
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .execute()
}

/** The counters of many (subscription, period) keys in one query (the admin list). */
export async function readCountersOf(db: Db, keys: CounterKey[]) {
  if (keys.length === 0) return []
  return db
    .selectFrom('billing_quota_counter')
    .select(['subscription_id', 'period_start', 'metric', 'used', 'reserved'])
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
}

/**
 * The counters of a refused reservation, each judged by the admission rule
 * (store.sql.ts) against the ask: within its quota, and for the requests row
 * within the in-flight limit. Read after the refusal, outside its statement.
 */
export async function readRefusal(db: Db, key: CounterKey, ask: ReserveAsk) {
  // The rule reads no time: 0 stands for reserveArgs' `now`, which this query does not bind.
  const { rows } = await readRefusalQuery(db, ...reserveArgs(key, ask, 0))
  return rows.map((row) => ({
    metric: row.metric,
    used: Number(row.used),
    reserved: Number(row.reserved),
    withinQuota: Number(row.within_quota) === 1,
    withinInFlight: Number(row.within_in_flight) === 1,
  }))
}

const readRefusalQuery = prepared((_db, ...args: Parameters<typeof singleRuleColumns>) => {
  const [sub, period] = args
  const judged = refusalColumns(singleRuleColumns(...args))
  return sql<{
    metric: Metric
    used: number
    reserved: number
    within_quota: number
    within_in_flight: number
  }>`
    SELECT metric, used, reserved, ${judged.withinQuota} AS within_quota,
      ${judged.withinInFlight} AS within_in_flight
    FROM billing_quota_counter
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}`
})

/** Applies a settle or release to the three counters at once: used += used[m], reserved -= reserved[m]. */
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
  ) => sql`
    UPDATE billing_quota_counter
    SET used = used + ${perMetric(sql`metric`, int(ur), int(ui), int(uo))},
      reserved = reserved - ${perMetric(sql`metric`, int(rr), int(ri), int(ro))},
      updated_at = ${int(now)}
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}`,
)
