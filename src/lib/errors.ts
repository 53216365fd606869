import type { ZodError } from 'zod'

/**
 * What domain code (auth, ledger, billing, payments) refuses with: a code from
 * the API's list (docs/reference/API.md) and a message for the caller. It knows
 * nothing of HTTP: src/http/errors.ts gives each code its status and type and
 * writes OpenAI's envelope, so the answer is the same whoever threw.
 */
export type DomainErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'validation_failed'
  | 'invalid_api_key'
  | 'invalid_webhook_secret'
  | 'forbidden_source'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limit_exceeded'
  | 'internal_error'
  | 'upstream_error'
  | 'billing_not_configured'
  | 'provider_unavailable'

export class DomainError extends Error {
  /** The request field at fault, if one is. */
  readonly param: string | null
  /** When the caller may try again, in seconds (a Retry-After), if known. */
  readonly retryAfterSeconds: number | null

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options: { param?: string | null; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.param = options.param ?? null
    this.retryAfterSeconds = options.retryAfterSeconds ?? null
  }
}

/** A validation_failed that names every bad field, from a zod error. */
export function validationError(error: ZodError, prefix?: string): DomainError {
  const fields = error.issues.flatMap((issue) => {
    // An unknown key is named by its own path (quotas.foo), not its parent object's.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [null]
    return keys.map((key) => {
      const path = [prefix, ...issue.path.map(String), key].filter(Boolean).join('.')
      return { path: path || '(body)', message: key ? 'unknown field' : issue.message }
    })
  })
  const message = fields.map((f) => `${f.path}: ${f.message}`).join('; ')
  return new DomainError('validation_failed', `Invalid request: ${message}`, {
    param: fields.map((f) => f.path).join(','),
  })
}
