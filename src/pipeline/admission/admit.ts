import type { Context } from 'hono'
import { isServiceKey } from '../../auth/act-as.ts'
import type { Entitlement } from '../../billing/entitlements.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { requestHeader } from '../../http/request-headers.ts'
import type { Amounts, Metric } from '../../ledger/amounts.ts'
import { maxConcurrentRequests } from '../../ledger/quotas.ts'
import { reserve } from '../../ledger/service.ts'
import { readPeriodUsage } from '../../ledger/usage.service.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { firstHeader } from '../../lib/first-header.ts'
import { OWN_SETTLES_WAIT_MS } from '../../lib/pending-writes.ts'
import { estimateOutputReserve } from '../estimate/estimate.ts'
import { type Prices, pricesFor, type Weights, weigh, weightsFor } from '../estimate/weights.ts'
import { refuseTooManyAnswers } from '../request/answers.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { ParsedRequest } from '../request/parse.ts'
import { grantExtras, inputToReserve, refuseBackground } from '../request/request-policy.ts'
import { checkStoredReferences } from '../stored/stored-objects.ts'
import { isModelAllowed } from './model-access.ts'

/** A request let through: its reservation and what the rest of the pipeline needs to end it. */
export interface Admission {
  /** The reservation's id in the ledger (settle/release find it by this). */
  ledgerId: string
  userId: string
  model: string
  chatId: string | null
  /** The tokenizer's estimate of the prompt (raw tokens): billed as input when the upstream gives no usage. */
  inputEstimate: number
  /**
   * The model's weights and price when the request was admitted: its settle counts with these,
   * so a config change applies to new requests only (docs/weights.md). `reserved` is weighted.
   */
  weights: Weights
  prices: Prices | null
  /** The output reserve in raw tokens (reserved.tokens_output is weighted): what a cut drain bills. */
  rawOutputReserve: number
  /** The counters reserved against: a settle whose reservation was swept still bills them. */
  subscriptionId: string
  periodStart: number
  /** Hosted tools' input surcharge (request-policy.ts): reserved with the prompt, added to the billed input. */
  surchargeTokens: number
  reserved: Amounts
  remaining: Record<Metric, number | null>
  periodEnd: number
}

const MAX_CHAT_ID = 200

/** The user's live plan, or 402. */
export async function entitle(c: Context<AppEnv>): Promise<Entitlement> {
  const entitlement = await c.get('deps').entitlements.get(c.get('principal').userId)
  if (!entitlement) {
    throw new GatewayError(
      'no_subscription',
      'No active subscription: choose a plan to use the API',
    )
  }
  return entitlement
}

/** 403 before anything is reserved when the plan's features do not grant the model. */
export function checkModel(c: Context<AppEnv>, entitlement: Entitlement, model: string) {
  if (!isModelAllowed(c.get('deps').config, entitlement.plan.features, model)) {
    throw new GatewayError(
      'model_not_allowed',
      `The model '${model}' is not included in your plan (${entitlement.plan.id})`,
      { param: 'model' },
    )
  }
}

/**
 * Estimates and reserves in one atomic step (ledger/service.ts): requests 1, the
 * prompt's tokens, the output reserve. A refusal is the 429 of docs/reference/API.md and
 * nothing was reserved; nothing goes upstream.
 */
export async function admit(
  c: Context<AppEnv>,
  endpoint: Endpoint,
  request: ParsedRequest,
): Promise<Admission> {
  const deps = c.get('deps')
  refuseBackground(request.body)
  refuseTooManyAnswers(endpoint, request.body, deps.config.quota.maxAnswersPerRequest)
  const entitlement = await entitle(c)
  const model = request.body.model
  checkModel(c, entitlement, model)
  const surchargeTokens = grantExtras(deps.config, entitlement.plan, request.body)
  await checkStoredReferences(deps, entitlement.userId, endpoint, request)

  // A large body was checked before it was read (refuseBeforeReading); a medium one is, before it is counted.
  if (!request.offLoop && request.raw.length > PRECHECK_BYTES) {
    await refuseBeforeCounting(c, entitlement)
  }
  const inputEstimate = await inputToReserve(
    deps.config,
    entitlement.plan,
    entitlement.userId,
    endpoint,
    request,
  )
  // Weighed as the settle will weigh them. The surcharge is a tool call's price in the quota's
  // unit, the same whatever the model, so it is added after weighing (docs/weights.md).
  const weights = weightsFor(deps.config, model)
  const amounts: Amounts = {
    requests: 1,
    tokens_input: weigh(inputEstimate, weights.inputMilli) + surchargeTokens,
    tokens_output: outputReserve(
      weigh(estimateOutputReserve(endpoint, request.body, deps.config.quota), weights.outputMilli),
      entitlement.plan.quotas.tokens_output,
    ),
  }
  const chatId =
    firstHeader((name) => requestHeader(c, name), deps.config.billing.chatIdHeaders)?.slice(
      0,
      MAX_CHAT_ID,
    ) || null
  const ledgerId = ledgerIdFor(c)
  const ask = { requestId: ledgerId, amounts, modelId: model, chatId }
  let result = await reserve(deps, entitlement, ask)
  // The user's previous answers may have left before their settles landed (settle.ts): a
  // refusal is decided again once those writes end, as if each settle had come first.
  if (!result.ok && deps.pendingSettles.has(entitlement.userId)) {
    await deps.pendingSettles.settled(entitlement.userId, OWN_SETTLES_WAIT_MS)
    result = await reserve(deps, entitlement, ask)
  }
  if (!result.ok && result.reason === 'concurrency') throw tooManyInFlight(c, result.limit)
  if (!result.ok) throw quotaExceeded(c, result)
  return {
    ledgerId,
    userId: entitlement.userId,
    model,
    chatId,
    inputEstimate,
    weights,
    prices: pricesFor(deps.config, model),
    // Rounded down, so that weighing it back never passes what was reserved.
    rawOutputReserve: Math.floor((result.reserved.tokens_output * 1000) / weights.outputMilli),
    subscriptionId: entitlement.subscription.id,
    periodStart: entitlement.subscription.current_period_start,
    surchargeTokens,
    reserved: result.reserved,
    remaining: result.remaining,
    periodEnd: result.periodEnd,
  }
}

/**
 * One request never reserves more output than the plan's whole output limit
 * (weighted, as the limit is): n x max_tokens can ask for millions, and under
 * settled output admission every such reserve is held whole. The cap is the
 * limit, not what remains of it: the remainder is only known inside the
 * ledger's atomic step, and the limit already bounds what the reservations in
 * flight can hold (C x L) and what a drain that runs out of time or a sweep
 * bills for one request (docs/quotas.md). What the upstream may produce is
 * bounded separately, by max_tokens and quota.maxAnswersPerRequest.
 */
export function outputReserve(weighted: number, limit: number | null): number {
  // At least 1 when anything is asked: an ask of 0 is never refused, and a plan whose output
  // limit is 0 must still refuse a chat request.
  return limit === null ? weighted : Math.min(weighted, Math.max(limit, 1))
}

/** Bodies over this are checked against the counters before their prompt is counted. */
const PRECHECK_BYTES = 16 * 1024

/**
 * Before a large body (or one of unknown length) is even read: the same early
 * refusal, for the user the credentials name. A service key that leaves its
 * user to the body is checked once the body is parsed (admit), by its user.
 */
export async function refuseBeforeReading(c: Context<AppEnv>) {
  if (isServiceKey(c.get('principal'))) return
  await refuseBeforeCounting(c, await entitle(c))
}

/**
 * Counting a long prompt costs real time (off the loop, token-pool.ts): before
 * spending it, a request that cannot be admitted whatever its size is refused
 * from the counters, as reserve() would refuse it: no request left, the plan's
 * max_concurrent_requests in flight, or no input token left. The reservation
 * still decides atomically; this read only refuses early, never admits.
 */
async function refuseBeforeCounting(c: Context<AppEnv>, entitlement: Entitlement) {
  const deps = c.get('deps')
  // The user's settles still landing may free quota: the reservation decides after waiting for them.
  if (deps.pendingSettles.has(entitlement.userId)) return
  const { subscription, plan } = entitlement
  const usage = await readPeriodUsage(deps.database.db, subscription, plan)
  const periodEnd = subscription.current_period_end
  for (const metric of ['requests', 'tokens_input'] as const) {
    const { used, reserved, limit, remaining } = usage[metric]
    if (limit !== null && remaining === 0) {
      throw quotaExceeded(c, { metric, requested: 1, used: used + reserved, limit, periodEnd })
    }
  }
  const inFlightLimit = maxConcurrentRequests(plan, deps.config.quota)
  if (inFlightLimit !== null && usage.requests.reserved >= inFlightLimit) {
    throw tooManyInFlight(c, inFlightLimit)
  }
}

/** The 429 of a quota spent (docs/reference/API.md): only time or payment lifts it. */
export function quotaExceeded(
  c: Context<AppEnv>,
  refusal: { metric: Metric; requested: number; used: number; limit: number; periodEnd: number },
): GatewayError {
  const deps = c.get('deps')
  deps.metrics.quotaRefusals.inc({ metric: refusal.metric })
  const retryAfter = Math.max(1, refusal.periodEnd - nowSeconds(deps.clock))
  return new GatewayError(
    'insufficient_quota',
    `Quota exceeded for ${refusal.metric}: requested ${refusal.requested}, used ${refusal.used} of ${refusal.limit} this period`,
    {
      param: refusal.metric,
      // x-should-retry: false stops the official SDKs from retrying what only time or payment lifts.
      headers: { 'retry-after': String(retryAfter), 'x-should-retry': 'false' },
    },
  )
}

/**
 * The plan's max_concurrent_requests are in flight: a 429 that, unlike a quota
 * refusal, lifts as soon as one of them ends, so the official SDKs may retry it
 * (type and code rate_limit_exceeded, Retry-After 1, no x-should-retry: false).
 */
export function tooManyInFlight(c: Context<AppEnv>, limit: number): GatewayError {
  c.get('deps').metrics.quotaRefusals.inc({ metric: 'max_concurrent_requests' })
  return new GatewayError(
    'rate_limit_exceeded',
    `Too many requests in flight: your plan allows ${limit} at once; retry when one ends`,
    { param: 'max_concurrent_requests', headers: { 'retry-after': '1' } },
  )
}

/**
 * The request id names the reservation, unless the client chose it: a
 * client-sent x-request-id may repeat, and two live reservations must never
 * share an id, so those get a fresh one (logged next to the request id).
 */
export function ledgerIdFor(c: Context<AppEnv>): string {
  const requestId = c.get('requestId')
  return requestHeader(c, 'x-request-id') === requestId ? c.get('deps').ids.next() : requestId
}
