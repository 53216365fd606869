import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.ts'

const SAFE_ID = /^[\w.:-]{1,128}$/

/**
 * Gives every request an id (the caller's x-request-id when it is sane, else a
 * new one) and echoes it in the x-request-id header of every answer, errors included.
 * A proxied stream is written to Node's response by the proxy itself, past hono's
 * headers (pipeline/client-stream.ts), which sets this header there too: a header
 * added here for every answer must be added there as well.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    const incoming = c.req.header('x-request-id')
    const id = incoming && SAFE_ID.test(incoming) ? incoming : c.get('deps').ids.next()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  }
}
