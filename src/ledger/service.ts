import type { ReservationRow } from '../../db/tables.ts'
import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import {
  type Amounts,
  METRICS,
  type Metric,
  noClasses,
  TOKEN_CLASSES,
  type TokenClasses,
  zeroAmounts,
} from './amounts.ts'
import { ensureCounters, moveCounters, readRefusal } from './counters.repo.ts'
import { MAX_UNFINISHED, type ReservationIdentity, type UnfinishedClose } from './instance.ts'
import { releaseFromPack, settleFromPack, settleLateFromPack } from './packs/pack-close.ts'
import { holdsPackFor, reserveFromPack } from './packs/pack-reserve.ts'
import { maxConcurrentRequests, type QuotaHolder } from './quotas.ts'
import { type CounterKey, type MetricAsk, NO_LIMIT, type ReserveAsk } from './store.types.ts'
import { CLASS_COLUMNS, insertUsage, recordedDetail, recordedUsage } from './usage.repo.ts'
import { readWindows } from './windows.repo.ts'
import {
  fullWindow,
  isWindowRow,
  type RateRefusal,
  type RateWindowState,
  windowAsk,
  windowState,
} from './windows.ts'

/**
 * The quota ledger. A period's counter row holds each metric's `used` and
 * `reserved`; a request reserves before it goes upstream and ends in
 * exactly one settle or release, found by its request id. Each step is one
 * short transaction on SQLite and one statement on PostgreSQL, and the steps
 * of one event-loop turn are written together (store.ts); none spans
 * an upstream call.
 */

export interface ReserveRequest {
  requestId: string
  /** What the request may use: requests 1, tokens_input the estimate, tokens_output the output reserve. */
  amounts: Amounts
  modelId?: string | null
  chatId?: string | null
  /** The request will not go upstream right after this (none does today): released after a crash. */
  notSent?: boolean
}

export type ReserveResult =
  | {
      ok: true
      /** What was actually reserved (tokens_output may be capped at what remained). */
      reserved: Amounts
      /**
       * Remaining per metric after this reservation, negative when the reservation is larger
       * than what remained (settled output admission; headers show 0); null = unlimited.
       */
      remaining: Record<Metric, number | null>
      periodEnd: number
      /** The plan's rate windows after this reservation (the x-ratelimit-* headers); [] for none. */
      windows: RateWindowState[]
      /** Funded by a prepaid pack (the period refused it for quota): only the pack's metric has a remaining. */
      funding?: 'pack'
    }
  | {
      ok: false
      reason: 'quota'
      metric: Metric
      limit: number
      used: number
      requested: number
      periodEnd: number
    }
  /** The plan's max_concurrent_requests were in flight: retryable as soon as one ends. */
  | { ok: false; reason: 'concurrency'; limit: number; inFlight: number }
  /** A rate window of the plan is full: retryable when it ends (`resetAt`, epoch seconds). */
  | RateRefusal

/** Atomically reserves against the entitlement's current period; any metric short -> nothing changes. */
export async function reserve(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  entitlement: QuotaHolder,
  request: ReserveRequest,
): Promise<ReserveResult> {
  const { subscription, plan } = entitlement
  const key: CounterKey = {
    subscriptionId: subscription.id,
    periodStart: subscription.current_period_start,
  }
  const { quota } = deps.config
  // Asking 0 never refuses (an embedding needs no output even when the output quota is
  // overrun), and an unlimited metric is counted without a check.
  const metricAsk = (m: Metric): MetricAsk => {
    const n = request.amounts[m]
    const limit = plan.quotas[m]
    return { n, limit: limit === null || n === 0 ? NO_LIMIT : limit }
  }
  // A literal, not Object.fromEntries over METRICS: this runs for every request.
  const ask: ReserveAsk = {
    requests: metricAsk('requests'),
    tokens_input: metricAsk('tokens_input'),
    tokens_output: metricAsk('tokens_output'),
    inFlightLimit: maxConcurrentRequests(plan, quota) ?? NO_LIMIT,
    outputAdmission: quota.outputAdmission,
    // Tokens count in the windows weighted, input and output together (docs/quotas.md).
    windows: windowAsk(
      plan.quotas,
      nowSeconds(deps.clock),
      request.amounts.tokens_input + request.amounts.tokens_output,
    ),
  }

  const period = await reservePeriod(deps, entitlement, request, key, ask)
  if (period.ok || period.reason !== 'quota') return period
  return reserveWithPack(deps, entitlement, request, key, ask, period)
}

type QuotaRefusal = Extract<ReserveResult, { reason: 'quota' }>

/** The period's reservation (the ledger's one path): admitted, or refused with its reason. */
async function reservePeriod(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'instance' | 'ledger'>,
  entitlement: QuotaHolder,
  request: ReserveRequest,
  key: CounterKey,
  ask: ReserveAsk,
): Promise<ReserveResult> {
  const { plan } = entitlement
  const periodEnd = entitlement.subscription.current_period_end
  for (let attempt = 1; ; attempt++) {
    const rows = await reserveOnce(deps, entitlement, request, key, ask)
    if (rows) {
      const reserved = zeroAmounts()
      const remaining = {} as Record<Metric, number | null>
      const windows: RateWindowState[] = []
      for (const row of rows) {
        if (isWindowRow(row)) {
          windows.push(windowState(row, ask.windows!))
          continue
        }
        const limit = plan.quotas[row.metric]
        reserved[row.metric] = Number(row.last_reserved)
        // Settled output admission counts only this request's own reservation as spent: the
        // next request is admitted on `used` alone, whatever the others in flight hold.
        const held =
          row.metric === 'tokens_output' && ask.outputAdmission === 'settled'
            ? reserved.tokens_output
            : row.reserved
        remaining[row.metric] = limit === null ? null : limit - row.used - held
      }
      return { ok: true, reserved, remaining, periodEnd, windows }
    }
    // The database refused atomically; which metric, and by how much, is read afterwards.
    const counters = await readRefusal(deps.database.db, key, ask)
    if (counters.length < METRICS.length) {
      // The period's counters are created when the entitlement is loaded; one made
      // elsewhere (or a lost counter row) gets them now, and the reservation runs again.
      await ensureCounters(deps.database.db, key, nowSeconds(deps.clock))
    } else {
      const refused = refusingMetric(counters)
      // A period quota spent wins (only time or payment lifts it), then a full window.
      if (refused?.inFlight !== false && ask.windows) {
        const rows = await readWindows(deps.database.db, key.subscriptionId, ask.windows)
        const window = fullWindow(rows, ask.windows)
        if (window) return window
      }
      if (refused?.metric === 'requests' && refused.inFlight) {
        return {
          ok: false,
          reason: 'concurrency',
          limit: ask.inFlightLimit,
          inFlight: refused.reserved,
        }
      }
      if (refused) {
        return {
          ok: false,
          reason: 'quota',
          metric: refused.metric,
          limit: plan.quotas[refused.metric] ?? 0,
          used: refused.used,
          requested: request.amounts[refused.metric],
          periodEnd,
        }
      }
      // Settles freed room between the refusal and the read: try again.
    }
    if (attempt === 3) throw new Error('the reservation was refused by no metric three times')
  }
}

/**
 * The period refused for quota on one metric: the user's prepaid packs of that metric
 * may pay it instead (docs/quotas.md, "Prepaid packs"). The period is reserved again
 * without that metric, so the request's other metrics, its place in flight and its
 * rate windows are held as any request's; then the pack holds the metric. Off the hot
 * path: only a refusal for quota comes here, and a user without such a pack stops at
 * one read.
 */
async function reserveWithPack(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  entitlement: QuotaHolder,
  request: ReserveRequest,
  key: CounterKey,
  ask: ReserveAsk,
  refusal: QuotaRefusal,
): Promise<ReserveResult> {
  const { metric } = refusal
  const amount = request.amounts[metric]
  const { db } = deps.database
  if (!(await holdsPackFor(db, entitlement.userId, metric, nowSeconds(deps.clock), amount))) {
    return refusal
  }
  // The pack's metric leaves the period's quota check. A request of a requests pack still
  // takes its place in flight (requests.reserved bounds max_concurrent_requests); the
  // settle counts it 0 on the period. Tokens of a token pack are not reserved there at all.
  const kept = metric === 'requests' ? ask.requests.n : 0
  const rest: ReserveAsk = { ...ask, [metric]: { n: kept, limit: NO_LIMIT } }
  // Unsent until the pack holds its part (pack-reserve.ts marks it sent in that
  // transaction): a crash in between leaves a reservation the sweeper releases.
  const period = await reservePeriod(deps, entitlement, { ...request, notSent: true }, key, rest)
  if (!period.ok) return period
  const now = nowSeconds(deps.clock)
  // Known as pack-funded from here, so a release ends both halves whatever landed.
  deps.instance.packFunded.set(request.requestId, metric)
  const held = await reserveFromPack(db, {
    requestId: request.requestId,
    userId: entitlement.userId,
    metric,
    amount,
    owner: deps.instance.id,
    now,
    sentAt: request.notSent ? null : now,
  }).catch(async (error) => {
    // A live owner's reservation is never swept: this process releases it (or retries).
    await release(deps, request.requestId).catch(() => {})
    throw error
  })
  if (!held) {
    // Another request took the pack's room since the read: nothing of this one stays held.
    await release(deps, request.requestId)
    return refusal
  }
  return {
    ...period,
    reserved: { ...period.reserved, [metric]: amount },
    remaining: { ...period.remaining, [metric]: held.available },
    funding: 'pack',
  }
}

/** One atomic attempt: the counters after the change, or null when some metric refused. */
async function reserveOnce(
  deps: Pick<Deps, 'clock' | 'instance' | 'ledger'>,
  entitlement: QuotaHolder,
  request: ReserveRequest,
  key: CounterKey,
  ask: ReserveAsk,
) {
  const now = nowSeconds(deps.clock)
  const fields = {
    requestId: request.requestId,
    userId: entitlement.userId,
    modelId: request.modelId ?? null,
    chatId: request.chatId ?? null,
    now,
    owner: deps.instance.id,
    // Written as sent already: the proxy forwards in the same turn the reservation
    // resolves (pipeline/proxy.ts), and a request that fails or is abandoned before
    // forward is released by its own process, row and all. Marking it in a second
    // write just before forward would cost every request another statement (a
    // round trip on PostgreSQL); this way the only cost is the crash window between
    // the commit and the bytes leaving (well under a millisecond, longer only while
    // undici queues for a free connection), where a dead process's reservation is
    // billed as estimated though it may not have gone: conservative, never free.
    sentAt: request.notSent ? null : now,
  }
  return deps.ledger.reserve({ key, ask, fields })
}

/**
 * The counter that refused, as the database judged it (readRefusal, by the
 * admission rule in store.sql.ts): the first metric over its quota, else the
 * requests when too many are in flight (`inFlight`). A quota refusal wins:
 * it is the one a retry cannot lift.
 */
function refusingMetric(counters: Awaited<ReturnType<typeof readRefusal>>) {
  const sorted = counters.sort((a, b) => METRICS.indexOf(a.metric) - METRICS.indexOf(b.metric))
  const overQuota = sorted.find((counter) => !counter.withinQuota)
  if (overQuota) return { ...overQuota, inFlight: false }
  const requests = sorted.find(({ metric }) => metric === 'requests')
  if (requests && !requests.withinInFlight) return { ...requests, inFlight: true }
  return undefined
}

/**
 * Moves the reservation to `used` with the actual amounts (which may exceed the
 * estimate: overruns are recorded, never dropped) and appends billing_usage rows,
 * atomically. Returns whether anything was recorded.
 *
 * Given the reservation's `identity`, a settle always records, even when its
 * row is gone (swept while the request ran: its owner looked dead, or a row
 * without owner outlived the TTL): see recordLate. Exactly once per request
 * id: what billing_usage already holds for it is subtracted, so a repeated
 * settle records nothing. A settle or release the database refused is kept in
 * memory and retried by this process's sweeper (sweeper.ts), since
 * nobody else ends a live owner's reservations.
 */
export async function settle(
  deps: Pick<Deps, 'clock' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  requestId: string,
  actual: Amounts,
  options: {
    estimated?: boolean
    identity?: ReservationIdentity
    /** The raw tokens and upstream cost behind `actual` (weighted), for the usage rows. */
    detail?: UsageDetail
  } = {},
): Promise<boolean> {
  const estimated = options.estimated ?? false
  try {
    const packMetric = deps.instance.packFunded.get(requestId)
    if (packMetric !== undefined) {
      return await settlePackFunded(deps, requestId, packMetric, actual, estimated, options)
    }
    const closed = await closeReservation(deps, requestId, actual, estimated, {
      detail: options.detail,
    })
    if (closed) {
      deps.instance.unfinished.delete(requestId)
      return true
    }
    // No period reservation: one a pack alone held (off the hot path: only these come here).
    const now = nowSeconds(deps.clock)
    const next = () => deps.ids.next()
    const fromPack = await settleFromPack(deps.database.db, { requestId, actual, now }, next)
    deps.instance.unfinished.delete(requestId)
    if (fromPack) return true
    if (!options.identity) return false
    const late = await settleLateFromPack(deps.database.db, { requestId, actual, now }, next)
    if (late !== null) return late
    return await recordLate(deps, requestId, actual, estimated, options.identity, options.detail)
  } catch (error) {
    remember(deps, requestId, { actual, estimated, identity: options.identity })
    throw error
  }
}

/**
 * The settle of a pack-funded request: the period reservation closes with the pack's
 * metric at 0, so its counters and usage row carry the request's other metrics (the
 * counters still sum to the usage rows), and the pack pays that metric's actual. Each
 * half ends once (its row is deleted first), so a retry after a failure redoes only
 * what did not land; a half swept meanwhile is corrected as a late settle.
 */
async function settlePackFunded(
  deps: Pick<Deps, 'clock' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  requestId: string,
  metric: Metric,
  actual: Amounts,
  estimated: boolean,
  options: { identity?: ReservationIdentity; detail?: UsageDetail },
): Promise<boolean> {
  const periodActual = { ...actual, [metric]: 0 }
  const closed = await closeReservation(deps, requestId, periodActual, estimated, {
    detail: options.detail,
  })
  let period = closed !== undefined
  if (!period && options.identity) {
    const { identity, detail } = options
    period = await recordLate(deps, requestId, periodActual, estimated, identity, detail)
  }
  const input = { requestId, actual, now: nowSeconds(deps.clock) }
  const next = () => deps.ids.next()
  let pack = (await settleFromPack(deps.database.db, input, next)) !== null
  if (!pack && options.identity) {
    pack = (await settleLateFromPack(deps.database.db, input, next)) ?? false
  }
  deps.instance.packFunded.delete(requestId)
  deps.instance.unfinished.delete(requestId)
  return period || pack
}

/** Returns the reservation unused. Idempotent: false when there was nothing to release. */
export async function release(
  deps: Pick<Deps, 'clock' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  requestId: string,
): Promise<boolean> {
  try {
    const reservation = await closeReservation(deps, requestId, zeroAmounts(), false)
    // A pack-funded request's hold returns to its pack, as does that of a request a
    // pack alone held (no period reservation).
    const fromPack =
      reservation === undefined || deps.instance.packFunded.has(requestId)
        ? await releaseFromPack(deps.database.db, requestId)
        : false
    deps.instance.packFunded.delete(requestId)
    deps.instance.unfinished.delete(requestId)
    return fromPack || METRICS.some((m) => Number(reservation?.[m]) > 0)
  } catch (error) {
    remember(deps, requestId, { actual: zeroAmounts(), estimated: false })
    throw error
  }
}

function remember(
  deps: Pick<Deps, 'instance' | 'logger'>,
  requestId: string,
  close: UnfinishedClose,
) {
  const { unfinished } = deps.instance
  if (unfinished.size >= MAX_UNFINISHED) {
    const oldest = unfinished.keys().next().value as string
    unfinished.delete(oldest)
    deps.logger.error(
      { requestId: oldest },
      'BILLING dropped an unfinished settle: too many queued',
    )
  }
  unfinished.set(requestId, close)
}

/** Deletes the reservation, moves its counters by (actual, reserved) and records usage rows. */
export function closeReservation(
  deps: Pick<Deps, 'clock' | 'ids' | 'ledger'>,
  requestId: string,
  actual: Amounts,
  estimated: boolean,
  /** windowed: the reservation may hold rate windows, whoever made it (store.ts knows its own). */
  { detail, windowed }: { detail?: UsageDetail; windowed?: boolean } = {},
): Promise<ReservationRow | undefined> {
  return deps.ledger.close({
    requestId,
    actual,
    usageId: deps.ids.next(),
    estimated,
    now: nowSeconds(deps.clock),
    ...(windowed && { windowed }),
    ...detail,
  })
}

/** What a usage row keeps besides the counted amount (docs/weights.md). */
export interface UsageDetail {
  raw: Amounts
  cost?: Amounts
  /** The token classes the upstream reported within the raw tokens. */
  classes?: TokenClasses
  /** The answer's HTTP status and the ms from the reservation to the settle (the console's last requests). */
  status?: number
  latencyMs?: number
}

/**
 * The settle of a reservation that is no longer there: `used` moves by what
 * billing_usage does not yet hold for the request (nothing reserved is
 * returned: the sweeper already did). After a sweep that released, that is
 * the whole usage; after a sweep that settled as estimated, the difference
 * to the true usage, possibly negative (a correction row, not estimated).
 * Off the hot path: only swept requests come here, one transaction each.
 * Two of these never race for one request: each process settles a request
 * once (pipeline/settle/settle.ts), and only its owner settles with real usage.
 */
async function recordLate(
  deps: Pick<Deps, 'clock' | 'database' | 'ids' | 'logger'>,
  requestId: string,
  actual: Amounts,
  estimated: boolean,
  identity: ReservationIdentity,
  detail?: UsageDetail,
): Promise<boolean> {
  const now = nowSeconds(deps.clock)
  return deps.database.db.transaction().execute(async (trx) => {
    const recorded = await recordedUsage(trx, requestId)
    const delta = zeroAmounts()
    for (const m of METRICS) delta[m] = actual[m] - recorded[m]
    if (METRICS.every((m) => delta[m] === 0)) return false
    // A sweeper's estimate kept no raw tokens, cost or classes (null, 0), so the correction
    // row carries them whole: the request's rows then sum to its raw usage, cost and classes.
    const late = detail && (await recordedDetail(trx, requestId))
    const classes = detail?.classes ?? noClasses()
    await insertUsage(trx, {
      id: deps.ids.next(),
      user_id: identity.userId,
      subscription_id: identity.subscriptionId,
      model_id: identity.modelId,
      chat_id: identity.chatId,
      request_id: requestId,
      estimated: estimated ? 1 : 0,
      created_at: now,
      ...delta,
      raw_input: detail && late ? detail.raw.tokens_input - late.raw.tokens_input : null,
      raw_output: detail && late ? detail.raw.tokens_output - late.raw.tokens_output : null,
      cost_input_micros:
        detail?.cost && late ? detail.cost.tokens_input - late.cost.tokens_input : null,
      cost_output_micros:
        detail?.cost && late ? detail.cost.tokens_output - late.cost.tokens_output : null,
      ...Object.fromEntries(
        TOKEN_CLASSES.map((name) => [
          CLASS_COLUMNS[name],
          classes[name] - (late?.classes[name] ?? 0),
        ]),
      ),
    })
    const key = { subscriptionId: identity.subscriptionId, periodStart: identity.periodStart }
    await moveCounters(trx, key, { used: delta, reserved: zeroAmounts() }, now)
    deps.logger.warn(
      { requestId, delta },
      'BILLING recorded the usage of a request whose reservation had been swept',
    )
    return true
  })
}
