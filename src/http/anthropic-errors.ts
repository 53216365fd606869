import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.ts'

/*
 * Anthropic's Messages API has its own error envelope,
 * {"type":"error","error":{"type","message"},"request_id"}, and the Anthropic
 * SDKs and Claude Code read `error.type`. The gateway's refusals on that
 * surface leave in it; the status and headers (retry-after, x-should-retry)
 * stay those of the gateway's own error (errors.ts).
 */
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
}

export interface AnthropicErrorBody {
  type: 'error'
  error: { type: string; message: string }
  request_id?: string
}

/** Anthropic's error type for a status: 4xx by its table, any other 5xx api_error. */
export function anthropicErrorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
}

export function anthropicErrorBody(
  status: number,
  message: string,
  requestId?: string,
): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: 'error',
    error: { type: anthropicErrorType(status), message },
  }
  if (requestId !== undefined) body.request_id = requestId
  return body
}

/**
 * Rewrites the gateway's own error answers on the Anthropic surface into
 * Anthropic's envelope: whatever refused the request (authentication, the
 * plan, the quota, the parser, onError or notFound) wrote OpenAI's envelope,
 * recognised by its `error.code`. An upstream's error body (already Anthropic's,
 * `type: "error"` at the top) passes untouched: Claude Code matches its wording.
 * Goes before authentication, so that a 401 is rewritten too.
 */
export function anthropicErrors(): MiddlewareHandler<AppEnv> {
  return async function anthropicErrors(c, next) {
    await next()
    const res = c.res
    if (res.status < 400 || !res.headers.get('content-type')?.startsWith('application/json')) return
    const text = await res.text()
    const headers = new Headers(res.headers)
    headers.delete('content-length')
    const message = gatewayErrorMessage(text)
    const body =
      message === null
        ? text
        : JSON.stringify(anthropicErrorBody(res.status, message, c.get('requestId')))
    // Hono copies the old answer's headers onto the new one: cleared first.
    c.res = undefined
    c.res = new Response(body, { status: res.status, headers })
  }
}

/** The message of the gateway's own envelope ({"error":{"message","code",...}}), else null. */
function gatewayErrorMessage(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as { type?: unknown; error?: Record<string, unknown> }
    const error = parsed.error
    if (parsed.type !== undefined || typeof error !== 'object' || error === null) return null
    if (typeof error.code !== 'string' || typeof error.message !== 'string') return null
    return error.message
  } catch {
    return null
  }
}
