import type { HttpBindings } from '@hono/node-server'
import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { Config } from '../../config/schema.ts'
import type { AppEnv } from '../env.ts'
import { requestHeader } from '../request-headers.ts'

/**
 * What a page on another origin may read of an answer besides the CORS-safelisted headers:
 * the request id to quote, the quota left, when to retry.
 */
const EXPOSED = [
  'x-request-id',
  'x-quota-remaining-requests',
  'x-quota-remaining-tokens-input',
  'x-quota-remaining-tokens-output',
  'x-quota-reset',
  'retry-after',
  'retry-after-ms',
]

/**
 * CORS for the API (/v1), for browser clients on other origins (docs/access.md, "Browsers").
 * None unless `cors.origins` names some. A preflight (OPTIONS with an Origin) is answered here,
 * before authentication: it carries no credentials, and the browser sends the real request
 * only if it passes. Credentials (cookies) are never allowed with '*' (the schema refuses it).
 *
 * The answer's own headers are set on Node's response when there is one, not only in hono's
 * context: a proxied answer leaves past hono's headers (a stream is written to Node's response,
 * pipeline/stream/client-stream.ts), and Node merges what was set here into every writeHead.
 * A request without an Origin (every SDK outside a browser) costs one header read.
 */
export function apiCors(config: Config['cors']): MiddlewareHandler<AppEnv> | null {
  if (config.origins.length === 0) return null
  const any = config.origins.includes('*')
  const allowed = (origin: string) => (any ? '*' : config.origins.includes(origin) ? origin : null)
  const preflight = cors({
    origin: any ? '*' : [...config.origins],
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    exposeHeaders: EXPOSED,
    credentials: config.credentials,
    maxAge: config.maxAgeSeconds,
  })
  const answerHeaders = (origin: string): Record<string, string> => ({
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSED.join(','),
    ...(config.credentials ? { 'access-control-allow-credentials': 'true' } : {}),
    ...(any ? {} : { vary: 'Origin' }),
  })
  return async function apiCors(c, next) {
    const origin = requestHeader(c, 'origin')
    if (origin === undefined) return next()
    if (c.req.method === 'OPTIONS') return preflight(c, next)
    const allow = allowed(origin)
    if (allow === null) return next()
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing
    for (const [name, value] of Object.entries(answerHeaders(allow))) {
      if (outgoing) outgoing.setHeader(name, value)
      else c.header(name, value)
    }
    return next()
  }
}
