import type { Entitlement } from '../../billing/entitlements.ts'
import type { Amounts, Metric } from '../../ledger/amounts.ts'
import { reserve } from '../../ledger/service.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { firstHeader } from '../../lib/first-header.ts'
import { OWN_SETTLES_WAIT_MS } from '../../lib/pending-writes.ts'
import { estimateOutputReserve } from '../estimate/estimate.ts'
import { type Prices, pricesFor, type Weights, weigh, weightsFor } from '../estimate/weights.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { headerOf, type ReadRequest } from '../request/proxy-request.ts'
import { quotaExceeded, rateLimitHeaders, rateWindowFull, tooManyInFlight } from './refusals.ts'
import { recordSoftLimits, type SoftLimitHit, softLimitsReached } from './soft-limits.ts'

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
  /** The plan's rate windows after this request, as OpenAI's x-ratelimit-* headers (refusals.ts). */
  rateLimitHeaders: Record<string, string>
  /** Soft limits reached once this request is counted: the x-quota-warning header. */
  softLimits: SoftLimitHit[]
}

/** What the stages before the reservation decided: the plan, the model, the prompt's estimate. */
export interface Estimated {
  entitlement: Entitlement
  model: string
  /** The prompt in raw tokens. */
  inputEstimate: number
  /** Hosted tools' surcharge, in the quota's unit already. */
  surchargeTokens: number
}

export type ReserveDeps = Pick<
  PipelineDeps,
  | 'clock'
  | 'config'
  | 'database'
  | 'ids'
  | 'instance'
  | 'ledger'
  | 'logger'
  | 'metrics'
  | 'pendingSettles'
  | 'softLimitsSeen'
>

const MAX_CHAT_ID = 200

/**
 * Weighs the estimate and reserves it in one atomic step (ledger/service.ts): requests 1, the
 * prompt's tokens, the output reserve. A refusal is the 429 of docs/reference/API.md and
 * nothing was reserved; nothing goes upstream.
 */
export async function reserveQuota(
  request: Pick<ReadRequest, 'requestId' | 'headers' | 'route' | 'parsed'>,
  estimated: Estimated,
  deps: ReserveDeps,
): Promise<Admission> {
  const outputAsked = estimateOutputReserve(
    request.route.endpoint,
    request.parsed.body,
    deps.config.quota,
  )
  return reserveAsked(request, { ...estimated, outputAsked }, deps)
}

/** What a request asks to reserve, in raw units: the weights are applied here. */
export interface Asked extends Estimated {
  /** The output reserve in the model's raw units (tokens, image units...). */
  outputAsked: number
}

/**
 * Weighs what a request asks (text: reserveQuota; media routes: their own estimate) and
 * reserves it in one atomic step. The surcharge is a tool call's price in the quota's unit,
 * the same whatever the model, so it is added after weighing (docs/weights.md).
 */
export async function reserveAsked(
  request: Pick<ReadRequest, 'requestId' | 'headers'>,
  asked: Asked,
  deps: ReserveDeps,
): Promise<Admission> {
  const { entitlement, model, inputEstimate, surchargeTokens, outputAsked } = asked
  const weights = weightsFor(deps.config, model)
  const amounts: Amounts = {
    requests: 1,
    tokens_input: weigh(inputEstimate, weights.inputMilli) + surchargeTokens,
    tokens_output: outputReserve(
      weigh(outputAsked, weights.outputMilli),
      entitlement.plan.quotas.tokens_output,
    ),
  }
  const chatId =
    firstHeader((name) => headerOf(request, name), deps.config.billing.chatIdHeaders)?.slice(
      0,
      MAX_CHAT_ID,
    ) || null
  const ledgerId = ledgerIdFor(request, deps)
  const ask = { requestId: ledgerId, amounts, modelId: model, chatId }
  let result = await reserve(deps, entitlement, ask)
  // The user's previous answers may have left before their settles landed (settle.ts): a
  // refusal is decided again once those writes end, as if each settle had come first.
  if (!result.ok && deps.pendingSettles.has(entitlement.userId)) {
    await deps.pendingSettles.settled(entitlement.userId, OWN_SETTLES_WAIT_MS)
    result = await reserve(deps, entitlement, ask)
  }
  if (!result.ok && result.reason === 'concurrency') throw tooManyInFlight(deps, result.limit)
  if (!result.ok && result.reason === 'rate') throw rateWindowFull(deps, result)
  const percents = deps.config.notifications.softLimitPercents
  if (!result.ok) {
    // Refused: the metric is spent whatever the ask, so its highest soft limit is reached.
    const hits = [{ metric: result.metric, percent: Math.max(...percents) }]
    await recordSoftLimits(deps, entitlement, hits)
    throw quotaExceeded(deps, result)
  }
  const softLimits = softLimitsReached(percents, entitlement.plan.quotas, result.remaining)
  await recordSoftLimits(deps, entitlement, softLimits)
  return {
    ledgerId,
    userId: entitlement.userId,
    model,
    chatId,
    inputEstimate,
    weights,
    prices: pricesFor(deps.config, model),
    // Rounded down, so that weighing it back never passes what was reserved (a free output: 0).
    rawOutputReserve:
      weights.outputMilli === 0
        ? 0
        : Math.floor((result.reserved.tokens_output * 1000) / weights.outputMilli),
    subscriptionId: entitlement.subscription.id,
    periodStart: entitlement.subscription.current_period_start,
    surchargeTokens,
    reserved: result.reserved,
    remaining: result.remaining,
    periodEnd: result.periodEnd,
    rateLimitHeaders: rateLimitHeaders(result.windows, nowSeconds(deps.clock)),
    softLimits,
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
function outputReserve(weighted: number, limit: number | null): number {
  // At least 1 when anything is asked: an ask of 0 is never refused, and a plan whose output
  // limit is 0 must still refuse a chat request.
  return limit === null ? weighted : Math.min(weighted, Math.max(limit, 1))
}

/**
 * The request id names the reservation, unless the client chose it: a
 * client-sent x-request-id may repeat, and two live reservations must never
 * share an id, so those get a fresh one (logged next to the request id).
 */
function ledgerIdFor(
  request: Pick<ReadRequest, 'requestId' | 'headers'>,
  deps: Pick<PipelineDeps, 'ids'>,
): string {
  const { requestId } = request
  return headerOf(request, 'x-request-id') === requestId ? deps.ids.next() : requestId
}
