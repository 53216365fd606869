import type { Plan } from '../../billing/plan.ts'
import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { ParsedRequest } from '../request/parse.ts'
import { estimateInputOffLoop } from './token-pool.ts'

/**
 * The input to reserve: the prompt's estimate plus quota.unknownContextTokens
 * for each context the gateway cannot see (previous_response_id, conversation,
 * a stored prompt, a file id or URL, an item_reference, an audio id). When that alone exceeds the plan's
 * tokens_input limit the request can never fit this plan: 400 naming the
 * parameter, rather than a 429 that waiting would not lift.
 */
export async function inputToReserve(
  config: Pick<Config, 'quota'>,
  plan: Pick<Plan, 'id' | 'quotas'>,
  userId: string,
  endpoint: Endpoint,
  request: ParsedRequest,
): Promise<number> {
  const { tokens, unknown } =
    request.offLoop?.estimate ??
    (await estimateInputOffLoop(userId, endpoint, request.body.model, request.body))
  const reserve = unknown.length * config.quota.unknownContextTokens
  const limit = plan.quotas.tokens_input
  // A prompt too big on its own is the usual 429; only the reserve makes this one never fit.
  if (reserve > 0 && limit !== null && tokens <= limit && tokens + reserve > limit) {
    throw new GatewayError(
      'invalid_request',
      `${unknown[0]} brings in context the gateway cannot measure; it reserves ${reserve} tokens_input, more than your plan (${plan.id}) allows per period (${limit})`,
      { param: unknown[0] },
    )
  }
  return tokens + reserve
}
