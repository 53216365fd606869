import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ZodError } from 'zod'
import { DomainError, validationError as domainValidationError } from '../lib/errors.ts'

/**
 * The one error module. Every error on every route leaves as OpenAI's envelope
 * {"error": {"message", "type", "code", "param"}} so SDKs surface it well.
 * The status and type of each code live in one table.
 */
const CODES = {
  invalid_json: [400, 'invalid_request_error'],
  invalid_request: [400, 'invalid_request_error'],
  validation_failed: [400, 'invalid_request_error'],
  unknown_metric: [400, 'invalid_request_error'],
  invalid_api_key: [401, 'invalid_request_error'],
  missing_credentials: [401, 'invalid_request_error'],
  invalid_webhook_secret: [401, 'invalid_request_error'],
  no_subscription: [402, 'insufficient_quota'],
  permission_denied: [403, 'permission_error'],
  model_not_allowed: [403, 'permission_error'],
  tool_not_allowed: [403, 'permission_error'],
  service_tier_not_allowed: [403, 'permission_error'],
  forbidden_source: [403, 'permission_error'],
  not_found: [404, 'not_found_error'],
  method_not_allowed: [405, 'invalid_request_error'],
  conflict: [409, 'conflict_error'],
  payload_too_large: [413, 'invalid_request_error'],
  // Node's own refusals, before routing (client-error.ts).
  request_timeout: [408, 'timeout_error'],
  request_header_fields_too_large: [431, 'invalid_request_error'],
  // OpenAI's own quota refusal: type and code both insufficient_quota (LangChain and apps test the code).
  insufficient_quota: [429, 'insufficient_quota'],
  rate_limit_exceeded: [429, 'rate_limit_exceeded'],
  internal_error: [500, 'server_error'],
  upstream_error: [502, 'upstream_error'],
  billing_not_configured: [503, 'server_error'],
  provider_unavailable: [503, 'server_error'],
  service_unavailable: [503, 'server_error'],
  // Every upstream of the model failed or refused the operator's key: not the payer's doing.
  upstream_unavailable: [503, 'server_error'],
  upstream_timeout: [504, 'timeout_error'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>

export type ErrorCode = keyof typeof CODES

export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null }
}

export class GatewayError extends Error {
  readonly status: ContentfulStatusCode
  readonly type: string
  readonly headers: Record<string, string>

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { param?: string | null; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    const [status, type] = CODES[code]
    this.status = status
    this.type = type
    this.param = options.param ?? null
    this.headers = options.headers ?? {}
  }

  readonly param: string | null

  /**
   * The envelope of a domain refusal: same code, message and param; its wait as Retry-After.
   * Every DomainErrorCode must be a key of CODES above, or this does not compile.
   */
  static from(error: DomainError): GatewayError {
    const { code, message, param, retryAfterSeconds } = error
    const headers =
      retryAfterSeconds === null ? undefined : { 'retry-after': String(retryAfterSeconds) }
    return new GatewayError(code, message, { param, headers, cause: error.cause })
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } }
  }
}

/** A 400 that names every bad field, from a zod error (the domain's, as a GatewayError). */
export function validationError(error: ZodError, prefix?: string): GatewayError {
  return GatewayError.from(domainValidationError(error, prefix))
}

/** The envelope of a refusal, whether the domain (DomainError) or the HTTP layer threw it; else null. */
export function asGatewayError(error: unknown): GatewayError | null {
  if (error instanceof GatewayError) return error
  if (error instanceof DomainError) return GatewayError.from(error)
  return null
}

/** Writes a GatewayError as a response on the given context. */
export function errorResponse(c: Context, error: GatewayError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
  return c.json(error.toBody(), error.status)
}
