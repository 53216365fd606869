import type { Context } from 'hono'
import type { Entitlement } from '../../billing/entitlements.ts'
import type { AppEnv } from '../../http/env.ts'
import { requestHeader } from '../../http/request-headers.ts'
import type { Amounts } from '../../ledger/amounts.ts'
import { reserve } from '../../ledger/service.ts'
import { firstHeader } from '../../lib/first-header.ts'
import { OWN_SETTLES_WAIT_MS } from '../../lib/pending-writes.ts'
import type { MediaEstimate } from '../estimate/media-estimate.ts'
import { pricesFor, weigh, weightsFor } from '../estimate/weights.ts'
import {
  type Admission,
  checkModel,
  entitle,
  ledgerIdFor,
  outputReserve,
  quotaExceeded,
  tooManyInFlight,
} from './admit.ts'

const MAX_CHAT_ID = 200

/**
 * The user's plan (402 without one) and its grant of the model (403), checked
 * before the body is estimated: reading an audio file's duration costs more
 * than a refusal.
 */
export async function entitleMedia(c: Context<AppEnv>, model: string): Promise<Entitlement> {
  const entitlement = await entitle(c)
  checkModel(c, entitlement, model)
  return entitlement
}

/**
 * The media routes' admission, as admit() does it for text, once the plan
 * grants the model (entitleMedia): one request and the estimate,
 * weighed as the settle will weigh it, are reserved in one atomic step (429
 * when short). Nothing goes upstream before this returns.
 */
export async function admitMedia(
  c: Context<AppEnv>,
  entitlement: Entitlement,
  model: string,
  estimate: MediaEstimate,
): Promise<Admission> {
  const deps = c.get('deps')
  const weights = weightsFor(deps.config, model)
  const amounts: Amounts = {
    requests: 1,
    tokens_input: weigh(estimate.input, weights.inputMilli),
    tokens_output: outputReserve(
      weigh(estimate.output, weights.outputMilli),
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
  // As in admit(): the user's settles still landing may free what a refusal lacked.
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
    inputEstimate: estimate.input,
    weights,
    prices: pricesFor(deps.config, model),
    rawOutputReserve:
      weights.outputMilli === 0
        ? 0
        : Math.floor((result.reserved.tokens_output * 1000) / weights.outputMilli),
    subscriptionId: entitlement.subscription.id,
    periodStart: entitlement.subscription.current_period_start,
    surchargeTokens: 0,
    reserved: result.reserved,
    remaining: result.remaining,
    periodEnd: result.periodEnd,
  }
}
