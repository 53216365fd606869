import type { Context } from 'hono'
import { routePath } from 'hono/route'
import type { AppEnv } from '../env.ts'

/**
 * One structured line per request, and the HTTP metrics, once the answer is decided
 * (called by the request scope middleware, src/app.ts, after the rest of the chain).
 * Never logs headers or bodies.
 */
export function logRequest(c: Context<AppEnv>, startedMs: number): void {
  const { logger, metrics } = c.get('deps')
  const durationMs = Math.round((performance.now() - startedMs) * 100) / 100
  // The last matched route is the handler's pattern (low-cardinality), e.g. /v1/chat/completions.
  const route = routePath(c, -1)
  const { status } = c.res
  const { method } = c.req
  metrics.httpRequests.add(`${method} ${status} ${route}`, { method, route, status })
  metrics.httpDuration.observe({ route }, durationMs / 1000)
  // Built only when it will be written (a bench or an operator may run at warn; the demo logs
  // requests at debug, so its banner stays on screen).
  const level = c.get('deps').config.requestLogLevel
  if (!logger.isLevelEnabled(level)) return
  logger[level](
    {
      requestId: c.get('requestId'),
      method,
      route,
      status,
      durationMs,
      user: (c.get('actingUser') ?? c.get('principal'))?.userId,
    },
    'request',
  )
}
