import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import type { AppEnv } from '../env.ts'

/** One structured line per request, and the HTTP metrics. Never logs headers or bodies. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const started = performance.now()
    await next()
    const { logger, metrics } = c.get('deps')
    const durationMs = Math.round((performance.now() - started) * 100) / 100
    // The last matched route is the handler's pattern (low-cardinality), e.g. /v1/chat/completions.
    const route = routePath(c, -1)
    metrics.httpRequests.inc({ method: c.req.method, route, status: c.res.status })
    metrics.httpDuration.observe({ route }, durationMs / 1000)
    logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        route,
        status: c.res.status,
        durationMs,
        user: c.get('principal')?.userId,
      },
      'request',
    )
  }
}
