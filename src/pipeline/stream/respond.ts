import { anthropicErrorBody } from '../../http/anthropic-errors.ts'
import type { GatewayError } from '../../http/errors.ts'
import type { Amounts, Metric } from '../../ledger/amounts.ts'
import type { Admission } from '../admission/admit.ts'
import { softLimitHeader } from '../admission/soft-limits.ts'
import type { Endpoint } from '../request/endpoint.ts'

const REMAINING_HEADERS: ReadonlyArray<[Metric, string]> = [
  ['requests', 'x-quota-remaining-requests'],
  ['tokens_input', 'x-quota-remaining-tokens-input'],
  ['tokens_output', 'x-quota-remaining-tokens-output'],
]

/**
 * The remaining quota per metric (unlimited metrics are left out) and the
 * period's end, on successful answers. Given what was credited (non-stream),
 * the reservation is replaced by it; a stream's headers leave before its usage
 * is known, so they count the whole reservation as spent.
 */
export function quotaHeaders(
  admission: Admission,
  credited: Amounts | null,
  into: Record<string, string>,
): Record<string, string> {
  for (const [metric, header] of REMAINING_HEADERS) {
    const remaining = admission.remaining[metric]
    if (remaining === null) continue
    const adjusted = credited
      ? remaining + admission.reserved[metric] - credited[metric]
      : remaining
    into[header] = String(Math.max(0, adjusted))
  }
  into['x-quota-reset'] = String(admission.periodEnd)
  Object.assign(into, admission.rateLimitHeaders)
  const warning = softLimitHeader(admission.softLimits)
  if (warning) into['x-quota-warning'] = warning
  return into
}

/**
 * The last event of a stream that failed after it began (its status is
 * already 200). Chat Completions and Completions: OpenAI's error object as a
 * `data:` event, which the official SDKs raise as an APIError. Responses: the
 * API's own `error` event, `{type, sequence_number, code, message, param}`,
 * whose sequence_number follows the upstream's last one (the AI SDK's zod
 * schema requires it, else the user sees a type validation error instead of
 * the message); the nested `error` object rides along so that the openai SDK
 * raises it as an APIError too, as it does for chat.
 */
export function sseErrorEvent(
  endpoint: Endpoint,
  error: GatewayError,
  lastSequence: number | null = null,
): Buffer {
  if (endpoint === 'messages') {
    // Anthropic's own mid-stream error event, which its SDKs raise as an APIError.
    const event = anthropicErrorBody(error.status, error.message)
    return Buffer.from(`event: error\ndata: ${JSON.stringify(event)}\n\n`)
  }
  const body = error.toBody()
  if (endpoint !== 'responses') return Buffer.from(`data: ${JSON.stringify(body)}\n\n`)
  const event = {
    type: 'error',
    sequence_number: lastSequence === null ? 0 : lastSequence + 1,
    code: error.code,
    message: error.message,
    param: error.param,
    error: body.error,
  }
  return Buffer.from(`event: error\ndata: ${JSON.stringify(event)}\n\n`)
}
