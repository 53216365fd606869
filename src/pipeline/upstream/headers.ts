import type { IncomingHttpHeaders } from 'node:http'
import type { HeaderSource } from '../../http/header-source.ts'

/**
 * Headers cross the proxy by allow-list, both ways (docs/access.md). A deny-list
 * lets through whatever the next SDK or reverse proxy invents: OpenAI-Organization
 * and OpenAI-Project pick the account the operator's key bills, Forwarded and
 * X-Forwarded-* leak the client's address, and the upstream's x-ratelimit-* show
 * the operator's account limits to every user.
 */

/** What any upstream needs from the client to read the body and answer in kind. */
const TO_UPSTREAM = ['content-type', 'accept'] as const

/**
 * What the client may see of the upstream's answer: how to read the body, when
 * to retry (an upstream 429 passes through), and OpenAI's two diagnostic headers
 * that say nothing about the account. The upstream's x-request-id is renamed
 * x-upstream-request-id; the gateway sets its own x-request-id and x-quota-*.
 */
const TO_CLIENT = [
  'content-type',
  'content-encoding',
  'cache-control',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'openai-processing-ms',
  'openai-version',
] as const

/** Per upstream, from config: what it always gets and which client headers it may get. */
export interface UpstreamHeaderPolicy {
  /** `Bearer <key>`; never logged. */
  authorization: string | undefined
  /** upstreams[].headers, names lower-cased. */
  fixed: Readonly<Record<string, string>>
  /** upstreams[].forwardClientHeaders, lower-cased. */
  fromClient: readonly string[]
}

/**
 * The headers sent upstream: content-type and accept from the client, the client
 * headers the operator allowed for this upstream, the upstream's configured
 * headers, its key, and accept-encoding identity (the gateway reads usage out
 * of the answer, so it must not be compressed).
 */
export function upstreamRequestHeaders(
  incoming: HeaderSource,
  policy: UpstreamHeaderPolicy,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of TO_UPSTREAM) copy(incoming, name, out)
  if (policy.fromClient.length > 0) {
    // RFC 9110 7.6.1: a header the client's Connection names is hop-by-hop, never forwarded.
    const hop = (incoming.get('connection') ?? '')
      .toLowerCase()
      .split(',')
      .map((t) => t.trim())
    for (const name of policy.fromClient) if (!hop.includes(name)) copy(incoming, name, out)
  }
  Object.assign(out, policy.fixed)
  out['accept-encoding'] = 'identity'
  if (policy.authorization) out.authorization = policy.authorization
  return out
}

function copy(incoming: HeaderSource, name: string, out: Record<string, string>) {
  const value = incoming.get(name)
  if (value !== null) out[name] = value
}

/** The upstream answer's headers as the client gets them; the upstream's request id is kept apart. */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of TO_CLIENT) {
    const value = upstream[name]
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  const upstreamId = upstream['x-request-id']
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId
  return out
}
