import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { isYooKassaError } from '../yookassa/errors.ts'
import type { AppEnv } from './env.ts'
import { asGatewayError, errorResponse, GatewayError } from './errors.ts'

/** The one place an exception becomes a response: always the envelope, always x-request-id. */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  const known = toGatewayError(error)
  if (known) return errorResponse(c, known)
  // The YooKassa webhook keeps its documented 500 ("deliver it again", docs/reference/API.md) for a database down too.
  if (isDatabaseUnavailable(error) && !c.req.path.startsWith('/api/v1/billing/webhook/')) {
    logger(c).error({ err: error, requestId: c.get('requestId') }, 'database unavailable')
    return errorResponse(
      c,
      new GatewayError(
        'service_unavailable',
        'The gateway cannot reach its database; retry later',
        {
          headers: { 'retry-after': '1' },
        },
      ),
    )
  }
  logger(c).error({ err: error, requestId: c.get('requestId') }, 'unhandled error')
  return errorResponse(c, new GatewayError('internal_error', 'Internal server error'))
}

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new GatewayError('not_found', `No route for ${c.req.method} ${c.req.path}`))

function toGatewayError(error: Error): GatewayError | null {
  const refusal = asGatewayError(error)
  if (refusal) return refusal
  if (error instanceof HTTPException) {
    // Hono's own: malformed JSON from c.req.json()/validators, and body-limit.
    if (error.status === 400)
      return new GatewayError('invalid_json', `Malformed JSON body: ${error.message}`)
    if (error.status === 413) return new GatewayError('payload_too_large', 'Request body too large')
    if (error.status === 401) return new GatewayError('invalid_api_key', error.message)
  }
  return null
}

/** PostgreSQL: connection exceptions (class 08) and shutdowns (57P01-57P03). */
const PG_UNAVAILABLE = /^(08...|57P0[123])$/
/** SQLite: the file is locked by another connection past busy_timeout, read-only, or cannot be opened. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|CANTOPEN|IOERR)/
/**
 * The database socket refused or reset. Upstream and YooKassa failures never get here with these
 * codes: the proxy maps its own (502/504) and YooKassa's errors are excluded below.
 */
const DB_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET'])
/** pg's own messages when a connection dies or the pool cannot get one (connectionTimeoutMillis). */
const PG_CLIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|is not queryable|Connection refused|terminating connection/i

/**
 * A database that is down, restarting, locked or read-only: the request
 * changed nothing that matters (a reservation is all-or-none, a settle the
 * database refused is retried by the sweeper), so the client may retry: 503.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // YooKassa's transport errors carry network codes too: they are not the database's.
  if (isYooKassaError(error)) return false
  for (let e = error, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (typeof e !== 'object') return false
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') {
      if (PG_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code) || DB_SOCKET_CODES.has(code))
        return true
    }
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true
    if (e instanceof Error && PG_CLIENT_MESSAGES.test(e.message)) return true
  }
  return false
}

function logger(c: Context<AppEnv>) {
  return c.get('deps').logger
}
