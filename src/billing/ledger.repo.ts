import { type Insertable, type Kysely, type RawBuilder, sql, type Transaction } from 'kysely'
import { prepared } from '../../db/prepared.ts'
import type { DB, Metric, ReservationRow, UsageTable } from '../../db/tables.ts'
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
 * Beyond any real limit: an unlimited metric (or one asked 0) is compared with
 * this, so one SQL text serves every plan. bigint columns hold it with room.
 */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER

/**
 * The value that belongs to a counter row's own metric, one of three: how one
 * UPDATE moves the requests, tokens_input and tokens_output rows together.
 */
export const perMetric = (metric: RawBuilder<unknown>, r: unknown, i: unknown, o: unknown) =>
  sql`CASE ${metric} WHEN 'requests' THEN ${r} WHEN 'tokens_input' THEN ${i} ELSE ${o} END`

/** A bound integer parameter; PostgreSQL cannot infer its type inside CASE and arithmetic. */
export const int = (value: number) => sql`CAST(${value} AS bigint)`

export interface ReservationFields {
  requestId: string
  userId: string
  modelId: string | null
  chatId: string | null
  now: number
  /** The process serving the request (gateway_instance.id): the sweeper leaves it alone while it beats. */
  owner: string
  /** When the request goes upstream (see reserveOnce in ledger.service.ts), or null: not sent. */
  sentAt: number | null
}

/** One reservation of a batch: its counters, what it asks, and its row's fields. */
export interface ReserveInput {
  key: CounterKey
  ask: ReserveAsk
  fields: ReservationFields
}

/** One settle (or release, with zero amounts): what a batched close needs per reservation. */
export interface CloseInput {
  requestId: string
  actual: Record<Metric, number>
  /** Ids for the usage rows of requests, tokens_input and tokens_output. */
  usageIds: [string, string, string]
  estimated: boolean
  now: number
  /** Per metric, the raw tokens behind `actual` (weights, docs/weights.md); absent = unknown (null). */
  raw?: Record<Metric, number>
  /** Per metric, the upstream cost in micro-units; absent = no price configured (null). */
  cost?: Record<Metric, number>
}

/** A counter after a reservation; last_reserved = what that reservation added to it. */
export type CounterAfter = { metric: Metric; used: number; reserved: number; last_reserved: number }

export interface MetricAsk {
  /** What the request asks to reserve. */
  n: number
  /** The limit to check against (NO_LIMIT when none). */
  limit: number
}

/** What one reservation asks per metric, and the admission rules it is held to. */
export type ReserveAsk = Record<Metric, MetricAsk> & {
  /**
   * Most reservations of the counter key held at once, this one included (NO_LIMIT when
   * none): the requests row's `reserved` is the number of requests in flight.
   */
  inFlightLimit: number
  /** 'settled': tokens_output is admitted while used < limit and reserved whole (config quota.outputAdmission). */
  outputAdmission: 'settled' | 'reserved'
}

/** A counter row's columns and a key's asks as SQL: what admissionRule compares. */
interface RuleColumns {
  counter: Record<'metric' | 'used' | 'reserved', RawBuilder<unknown>>
  ask: Record<'rn' | 'rl' | 'mc' | 'inn' | 'il' | 'outn' | 'ol' | 'settled', RawBuilder<unknown>>
}

/**
 * The admission rule, written once for every reserve statement: a CASE over
 * the counter row's metric that is true when the row can take the ask.
 * requests and tokens_input must fit whole (used + reserved + n <= limit), and
 * the requests row also bounds the requests in flight (reserved + n <= mc).
 * tokens_output, its output unknown until produced: with `settled` (1) only
 * used < limit, the ask reserved whole; otherwise used + reserved < limit,
 * the ask capped at what remains (`capped`, one reservation) or, for a batch
 * that must admit each of its requests in full, used + reserved + n <= limit
 * (`whole`).
 */
export function admissionRule({ counter: c, ask: k }: RuleColumns, output: 'capped' | 'whole') {
  const unsettled =
    output === 'whole'
      ? sql`${c.used} + ${c.reserved} + ${k.outn} <= ${k.ol}`
      : sql`${c.used} + ${c.reserved} < ${k.ol}`
  return sql`CASE ${c.metric}
        WHEN 'requests' THEN ${c.used} + ${c.reserved} + ${k.rn} <= ${k.rl}
          AND ${c.reserved} + ${k.rn} <= ${k.mc}
        WHEN 'tokens_input' THEN ${c.used} + ${c.reserved} + ${k.inn} <= ${k.il}
        WHEN 'tokens_output' THEN CASE WHEN ${k.settled} = 1 THEN ${c.used} < ${k.ol} ELSE ${unsettled} END
        ELSE 1 = 0 END`
}

/** admissionRule's columns for a batch's UPDATE of counter c FROM the sums k. */
export const batchRuleColumns: RuleColumns = {
  counter: { metric: sql`c.metric`, used: sql`c.used`, reserved: sql`c.reserved` },
  ask: {
    rn: sql`k.rn`,
    rl: sql`k.rl`,
    mc: sql`k.mc`,
    inn: sql`k.inn`,
    il: sql`k.il`,
    outn: sql`k.outn`,
    ol: sql`k.ol`,
    settled: sql`k.settled`,
  },
}

/**
 * The atomic check-and-reserve for all three metrics in ONE statement, each row
 * under its own condition (admissionRule, `capped`). Rows that fail their
 * condition are not updated and not returned: the caller rolls back unless all
 * three came back. `last_reserved` carries the amount each row added.
 */
export async function reserveAll(db: Db, key: CounterKey, ask: ReserveAsk, now: number) {
  const { rows } = await reserveAllQuery(db, ...reserveArgs(key, ask, now))
  return rows.map((row) => ({
    metric: row.metric,
    used: Number(row.used),
    reserved: Number(row.reserved),
    last_reserved: Number(row.last_reserved),
  }))
}

/** The values reserveAll's UPDATE binds, in order. */
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

const reserveAllQuery = prepared((_db, ...args: ReserveArgs) => reserveAllSql(...args))

/** The UPDATE of reserveAll, shared with PostgreSQL's one-statement reservation. */
export function reserveAllSql(
  ...[sub, period, rn, rl, mc, inN, il, on, ol, settled, now]: ReserveArgs
) {
  // Settled admission reserves the ask whole; otherwise it is capped at what remains.
  const capped = sql`CASE WHEN ${int(settled)} = 1 OR ${int(on)} <= ${int(ol)} - used - reserved THEN ${int(on)} ELSE ${int(ol)} - used - reserved END`
  const added = perMetric(sql`metric`, int(rn), int(inN), capped)
  const rule = admissionRule(
    {
      counter: { metric: sql`metric`, used: sql`used`, reserved: sql`reserved` },
      ask: {
        ...{ rn: int(rn), rl: int(rl), mc: int(mc), inn: int(inN), il: int(il) },
        ...{ outn: int(on), ol: int(ol), settled: int(settled) },
      },
    },
    'capped',
  )
  return sql<{ metric: Metric; used: number; reserved: number; last_reserved: number }>`
    UPDATE billing_quota_counter
    SET last_reserved = ${added}, reserved = reserved + ${added}, updated_at = ${int(now)}
    WHERE subscription_id = ${sub} AND period_start = ${int(period)}
      AND ${rule}
    RETURNING metric, used, reserved, last_reserved`
}

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

const RESERVATION_COLUMNS = [
  'request_id',
  'user_id',
  'subscription_id',
  'period_start',
  'requests',
  'tokens_input',
  'tokens_output',
  'model_id',
  'chat_id',
  'created_at',
  'owner',
  'sent_at',
] as const satisfies ReadonlyArray<keyof ReservationRow>

export async function insertReservation(db: Db, row: ReservationRow): Promise<void> {
  await insertReservationQuery(db, ...RESERVATION_COLUMNS.map((column) => row[column]))
}

const insertReservationQuery = prepared((db, ...values: unknown[]) =>
  db
    .insertInto('billing_reservation')
    .values(Object.fromEntries(RESERVATION_COLUMNS.map((column, i) => [column, values[i]]))),
)

/** Removes and returns a reservation: whoever gets the row settles it, so settle/release run once. */
export async function takeReservation(db: Db, requestId: string) {
  const { rows } = await takeReservationQuery(db, requestId)
  return rows[0]
}

const takeReservationQuery = prepared((db: Kysely<DB>, requestId: string) =>
  db.deleteFrom('billing_reservation').where('request_id', '=', requestId).returningAll(),
)

/**
 * Reservations whose request can no longer end by itself: those of another
 * process whose heartbeat is older than `deadBefore` (or that never beat: an
 * owner missing from gateway_instance is as dead), and, as a last resort,
 * rows with no owner (written before migration 0002) older than `ttlBefore`.
 * A live owner's reservations are never returned, however old; `self`'s own
 * never either (its unfinished closes are retried from memory).
 */
export async function findStaleReservations(
  db: Db,
  bounds: { self: string; deadBefore: number; ttlBefore: number; limit: number },
) {
  const rows = await db
    .selectFrom('billing_reservation as r')
    .leftJoin('gateway_instance as i', 'i.id', 'r.owner')
    .select([
      'r.request_id',
      'r.owner',
      'r.sent_at',
      'r.requests',
      'r.tokens_input',
      'r.tokens_output',
    ])
    .where((eb) =>
      eb.or([
        eb.and([eb('r.owner', 'is', null), eb('r.created_at', '<', bounds.ttlBefore)]),
        eb.and([
          eb('r.owner', '<>', bounds.self),
          eb.or([eb('i.id', 'is', null), eb('i.heartbeat_at', '<', bounds.deadBefore)]),
        ]),
      ]),
    )
    .orderBy('r.created_at')
    .limit(bounds.limit)
    .execute()
  return rows.map((row) => ({
    ...row,
    requests: Number(row.requests),
    tokens_input: Number(row.tokens_input),
    tokens_output: Number(row.tokens_output),
    sent_at: row.sent_at === null ? null : Number(row.sent_at),
  }))
}

/** What billing_usage already holds for a request, per metric (the settle of a swept reservation). */
export async function recordedUsage(db: Db, requestId: string): Promise<Record<Metric, number>> {
  const rows = await db
    .selectFrom('billing_usage')
    .select(['metric', (eb) => eb.fn.sum<number>('amount').as('amount')])
    .where('request_id', '=', requestId)
    .groupBy('metric')
    .execute()
  const recorded = { requests: 0, tokens_input: 0, tokens_output: 0 }
  for (const row of rows) recorded[row.metric] = Number(row.amount)
  return recorded
}

/** The raw tokens and cost billing_usage already holds for a request, per metric (nulls count 0). */
export async function recordedDetail(db: Db, requestId: string) {
  const rows = await db
    .selectFrom('billing_usage')
    .select([
      'metric',
      (eb) => eb.fn.sum<number>('raw_amount').as('raw'),
      (eb) => eb.fn.sum<number>('cost_micros').as('cost'),
    ])
    .where('request_id', '=', requestId)
    .groupBy('metric')
    .execute()
  const raw = { requests: 0, tokens_input: 0, tokens_output: 0 }
  const cost = { requests: 0, tokens_input: 0, tokens_output: 0 }
  for (const row of rows) {
    raw[row.metric] = Number(row.raw ?? 0)
    cost[row.metric] = Number(row.cost ?? 0)
  }
  return { raw, cost }
}

export async function insertUsage(db: Db, rows: Array<Insertable<UsageTable>>): Promise<void> {
  if (rows.length > 0) await db.insertInto('billing_usage').values(rows).execute()
}

/** Moves a taken reservation's counters: used += actual, reserved -= what it held. */
export async function moveReservation(
  db: Db,
  reservation: ReservationRow,
  actual: Record<Metric, number>,
  now: number,
) {
  const key = { subscriptionId: reservation.subscription_id, periodStart: reservation.period_start }
  const reserved = Object.fromEntries(METRICS.map((m) => [m, Number(reservation[m])])) as Record<
    Metric,
    number
  >
  await moveCounters(db, key, { used: actual, reserved }, now)
}
