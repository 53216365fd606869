import type { IncomingHttpHeaders } from 'node:http'

/** RFC 9110 7.6.1 hop-by-hop headers: they describe one connection and never cross a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/**
 * Never sent upstream: the client's credentials (whatever header carries them),
 * its cookies, what undici computes itself, and accept-encoding, because the
 * gateway must read usage out of the answer (it asks for identity instead).
 */
const NOT_UPSTREAM = new Set([
  'authorization',
  'api-key',
  'x-api-key',
  'cookie',
  'host',
  'content-length',
  'accept-encoding',
  'expect',
  'x-chat-id',
  'x-request-id',
  'x-forwarded-for',
  'x-real-ip',
])

/**
 * Never sent to the client: what would reveal the operator's upstream account
 * (organization, project, cookies) and headers the gateway sets itself.
 */
const NOT_DOWNSTREAM = new Set([
  'set-cookie',
  'openai-organization',
  'openai-project',
  'content-length',
  'x-request-id',
  'date',
  'server',
])

/** The headers sent upstream: the client's, filtered, plus the upstream's own key. */
export function upstreamRequestHeaders(
  incoming: Headers,
  authorization: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {}
  const named = connectionTokens(incoming.get('connection'))
  incoming.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || NOT_UPSTREAM.has(name) || named?.has(name)) return
    out[name] = value
  })
  out['accept-encoding'] = 'identity'
  if (authorization) out.authorization = authorization
  return out
}

/** The upstream answer's headers as the client gets them; the upstream's request id is kept apart. */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  const connection = upstream.connection
  const named = connectionTokens(typeof connection === 'string' ? connection : undefined)
  for (const name in upstream) {
    const value = upstream[name]
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_DOWNSTREAM.has(name) || named?.has(name))
      continue
    out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  const upstreamId = upstream['x-request-id']
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId
  return out
}

/** Headers a `Connection: a, b` header names are hop-by-hop too. */
function connectionTokens(value: string | null | undefined): Set<string> | null {
  if (!value) return null
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()))
}
