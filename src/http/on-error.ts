import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { AppEnv } from './env.ts'
import { errorResponse, GatewayError } from './errors.ts'

/** The one place an exception becomes a response: always the envelope, always x-request-id. */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  const known = toGatewayError(error)
  if (known) return errorResponse(c, known)
  logger(c).error({ err: error, requestId: c.get('requestId') }, 'unhandled error')
  return errorResponse(c, new GatewayError('internal_error', 'Internal server error'))
}

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new GatewayError('not_found', `No route for ${c.req.method} ${c.req.path}`))

function toGatewayError(error: Error): GatewayError | null {
  if (error instanceof GatewayError) return error
  if (error instanceof HTTPException) {
    // Hono's own: malformed JSON from c.req.json()/validators, and body-limit.
    if (error.status === 400)
      return new GatewayError('invalid_json', `Malformed JSON body: ${error.message}`)
    if (error.status === 413) return new GatewayError('payload_too_large', 'Request body too large')
    if (error.status === 401) return new GatewayError('invalid_api_key', error.message)
  }
  return null
}

function logger(c: Context<AppEnv>) {
  return c.get('deps').logger
}
