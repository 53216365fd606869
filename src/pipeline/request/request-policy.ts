import type { Plan } from '../../billing/plan.ts'
import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'
import { estimateInputOffLoop } from '../estimate/token-pool.ts'
import type { Endpoint } from './endpoint.ts'
import type { ParsedRequest } from './parse.ts'

type Body = Record<string, unknown>

/**
 * What a request may ask of the upstream beyond tokens, checked before
 * anything is reserved or sent (docs/estimation.md has the table).
 */

/**
 * Responses `background: true` is refused. A background response answers at
 * once with status "queued" and no usage, then runs upstream for minutes; its
 * result is fetched later through GET /v1/responses/{id} or
 * previous_response_id, paths the gateway does not meter. Billing it would
 * need a poller owning the reservation until the response ends; refusing is
 * the simple correct choice until that exists.
 */
export function refuseBackground(body: Body) {
  if (body.background === true) {
    throw new GatewayError(
      'invalid_request',
      'background: true is not supported by this gateway: send the request without it (streaming works for long responses)',
      { param: 'background' },
    )
  }
}

/**
 * Tool types the client runs itself: no upstream cost beyond tokens. An
 * Anthropic client tool has no type at all (OpenAI's parser requires one).
 */
const CLIENT_TOOLS: ReadonlySet<unknown> = new Set(['function', 'custom', undefined, null])
/** Anthropic's tools that the client executes (bash_20250124, text_editor_20250728, ...). */
const ANTHROPIC_CLIENT_TOOL = /^(bash|text_editor|memory|computer)_\d{8}$/
/**
 * Tool types carry a date when pinned (web_search_preview_2025_03_11, Anthropic's
 * web_search_20250305): the grant names the type.
 */
const DATE_SUFFIX = /_(\d{4}_\d{2}_\d{2}|\d{8})$/
/** Anthropic's standard_only is the standard tier, never a dearer one. */
const DEFAULT_TIERS: ReadonlySet<unknown> = new Set([
  undefined,
  null,
  'auto',
  'default',
  'standard_only',
])

/**
 * Hosted tools and a non-default service_tier need a plan feature (403
 * otherwise). Returns the input tokens to add for the hosted tools declared:
 * each tool's configured surcharge, once per declaration.
 */
export function grantExtras(
  config: Pick<Config, 'hostedTools' | 'serviceTiers'>,
  plan: Pick<Plan, 'id' | 'features'>,
  body: Body,
): number {
  if (!DEFAULT_TIERS.has(body.service_tier)) {
    const feature = config.serviceTiers[String(body.service_tier)]
    if (!feature || !plan.features.includes(feature)) {
      throw new GatewayError(
        'service_tier_not_allowed',
        `service_tier '${String(body.service_tier)}' is not included in your plan (${plan.id})`,
        { param: 'service_tier' },
      )
    }
  }
  // No closures here: this runs on every proxied request (and under tsx each named
  // closure costs a __name() call per request).
  let surcharge = 0
  if (Array.isArray(body.tools)) {
    for (let index = 0; index < body.tools.length; index++) {
      const tool: unknown = body.tools[index]
      const type = typeof tool === 'object' && tool !== null ? (tool as Body).type : undefined
      if (CLIENT_TOOLS.has(type)) continue
      if (typeof type === 'string' && ANTHROPIC_CLIENT_TOOL.test(type)) continue
      surcharge += hostedToolSurcharge(
        config,
        plan,
        String(type).replace(DATE_SUFFIX, ''),
        `tools[${index}].type`,
      )
    }
  }
  if (body.web_search_options != null) {
    surcharge += hostedToolSurcharge(config, plan, 'web_search', 'web_search_options')
  }
  return surcharge
}

/** A hosted tool's surcharge, or 403 when the plan lacks its feature. */
function hostedToolSurcharge(
  config: Pick<Config, 'hostedTools'>,
  plan: Pick<Plan, 'id' | 'features'>,
  type: string,
  param: string,
): number {
  const tool = config.hostedTools[type]
  if (!tool || !plan.features.includes(tool.feature)) {
    throw new GatewayError(
      'tool_not_allowed',
      `The hosted tool '${type}' is not included in your plan (${plan.id})`,
      { param },
    )
  }
  return tool.surchargeTokens
}

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
