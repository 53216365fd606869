/**
 * A failed YooKassa call. `transient` says whether the outcome is unknown or
 * may change (timeout, connection error, 500, 202, 429): the caller may retry
 * with the SAME Idempotence-Key, and a webhook answers 500 so YooKassa
 * delivers again. Anything else (400, 401, 403, 404...) is final: retrying
 * the same request cannot help, and a new attempt needs a new key.
 */
export class YooKassaError extends Error {
  readonly status: number | null
  readonly code: string
  readonly description: string | null
  readonly parameter: string | null
  /** YooKassa's hint in milliseconds before a retry. */
  readonly retryAfterMs: number | null

  constructor(options: {
    status: number | null
    code: string
    description?: string | null
    parameter?: string | null
    retryAfterMs?: number | null
    cause?: unknown
    operation: string
  }) {
    const where = options.status === null ? 'no answer' : `HTTP ${options.status}`
    super(
      `YooKassa ${options.operation} failed (${where}, ${options.code}${
        options.description ? `: ${options.description}` : ''
      })`,
      { cause: options.cause },
    )
    this.name = 'YooKassaError'
    this.status = options.status
    this.code = options.code
    this.description = options.description ?? null
    this.parameter = options.parameter ?? null
    this.retryAfterMs = options.retryAfterMs ?? null
  }

  get transient(): boolean {
    return this.status === null || this.status >= 500 || this.status === 202 || this.status === 429
  }

  get notFound(): boolean {
    return this.status === 404
  }
}

export function isYooKassaError(error: unknown): error is YooKassaError {
  return error instanceof YooKassaError
}
