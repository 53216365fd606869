import type { Context } from 'hono'
import type { AppEnv } from '../env.ts'
import { requestHeader } from '../request-headers.ts'

const SAFE_ID = /^[\w.:-]{1,128}$/

/**
 * Gives the request its id (the caller's x-request-id when it is sane, else a
 * new one) and echoes it in the x-request-id header of every answer, errors included.
 * Runs first, from the request scope middleware (src/app.ts).
 * A proxied answer leaves past hono's headers, a stream written to Node's response
 * (pipeline/stream/client-stream.ts) and a JSON answer as a Response of its own
 * (pipeline/proxy.ts), and each sets this header itself: a header added here for
 * every answer must be added there as well.
 */
export function assignRequestId(c: Context<AppEnv>): string {
  const incoming = requestHeader(c, 'x-request-id')
  const id = incoming && SAFE_ID.test(incoming) ? incoming : c.get('deps').ids.next()
  c.set('requestId', id)
  c.header('x-request-id', id)
  return id
}
