import { type Kysely, sql, type Transaction } from 'kysely'
import type { DB, Metric, ReservationRow } from '../../db/tables.ts'
import { METRICS } from './metrics.ts'

type Db = Kysely<DB> | Transaction<DB>

export interface CounterKey {
  subscriptionId: string
  periodStart: number
}

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

export async function readCounter(db: Db, key: CounterKey, metric: Metric) {
  return db
    .selectFrom('billing_quota_counter')
    .select(['used', 'reserved'])
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .where('metric', '=', metric)
    .executeTakeFirst()
}

/**
 * The atomic check-and-reserve: adds n to `reserved` only if used + reserved + n
 * stays within the limit (no limit: always). Returns the counter after the change,
 * or undefined when the limit (or a missing counter) refused it.
 */
export async function reserveStrict(
  db: Db,
  key: CounterKey,
  metric: Metric,
  n: number,
  limit: number | null,
) {
  let query = db
    .updateTable('billing_quota_counter')
    .set({ reserved: sql`reserved + ${n}` })
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .where('metric', '=', metric)
  if (limit !== null) query = query.where(sql<boolean>`used + reserved + ${n} <= ${limit}`)
  return query.returning(['used', 'reserved']).executeTakeFirst()
}

/**
 * Takes the counter's row lock (a no-op UPDATE: portable, unlike SELECT ... FOR UPDATE)
 * and returns it, so a capped amount can be computed and added in the same transaction.
 */
export async function lockCounter(db: Db, key: CounterKey, metric: Metric) {
  return db
    .updateTable('billing_quota_counter')
    .set({ reserved: sql`reserved` })
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .where('metric', '=', metric)
    .returning(['used', 'reserved'])
    .executeTakeFirst()
}

/** Applies a settle or release: used += usedDelta, reserved -= reservedDelta. */
export async function moveCounter(
  db: Db,
  key: CounterKey,
  metric: Metric,
  { usedDelta, reservedDelta, now }: { usedDelta: number; reservedDelta: number; now: number },
) {
  await db
    .updateTable('billing_quota_counter')
    .set({
      used: sql`used + ${usedDelta}`,
      reserved: sql`reserved - ${reservedDelta}`,
      updated_at: now,
    })
    .where('subscription_id', '=', key.subscriptionId)
    .where('period_start', '=', key.periodStart)
    .where('metric', '=', metric)
    .execute()
}

export async function insertReservation(db: Db, row: ReservationRow): Promise<void> {
  await db.insertInto('billing_reservation').values(row).execute()
}

/** Removes and returns a reservation: whoever gets the row settles it, so settle/release run once. */
export async function takeReservation(db: Db, requestId: string) {
  return db
    .deleteFrom('billing_reservation')
    .where('request_id', '=', requestId)
    .returningAll()
    .executeTakeFirst()
}

/** Stale reservations that still hold amounts (swept ones are zeroed: see sweepStaleReservations). */
export async function findStaleReservations(db: Db, olderThan: number, limit: number) {
  return db
    .selectFrom('billing_reservation')
    .select('request_id')
    .where('created_at', '<', olderThan)
    .where((eb) =>
      eb.or([eb('requests', '>', 0), eb('tokens_input', '>', 0), eb('tokens_output', '>', 0)]),
    )
    .orderBy('created_at')
    .limit(limit)
    .execute()
}

/** Forgets swept (zeroed) reservations once even a very late settle can no longer come. */
export async function deleteSweptReservations(db: Db, olderThan: number): Promise<number> {
  const result = await db
    .deleteFrom('billing_reservation')
    .where('created_at', '<', olderThan)
    .where('requests', '=', 0)
    .where('tokens_input', '=', 0)
    .where('tokens_output', '=', 0)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function insertUsageRows(db: Db, rows: DB['billing_usage'][]): Promise<void> {
  if (rows.length > 0) await db.insertInto('billing_usage').values(rows).execute()
}
