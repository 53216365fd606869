import type { Plan } from '../../billing/plan.ts'
import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'

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
