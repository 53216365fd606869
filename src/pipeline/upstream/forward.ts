import type { Dispatcher } from 'undici'
import { GatewayError } from '../../http/errors.ts'
import type { ClientGone } from '../request/client-gone.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { upstreamRequestHeaders } from './headers.ts'
import type { Upstream, UpstreamKey } from './upstreams.ts'

export type UpstreamResponse = Dispatcher.ResponseData

/**
 * Sends the request upstream through the upstream's undici Pool: the headers
 * headers.ts allows (never the client's credentials), the upstream's key, the
 * query string as received. `signal` is the client's (cancel policy): a
 * client that goes away aborts the upstream call too. `key` is the pool's key the attempt
 * uses (failover.ts); the upstream's first key when none is given.
 */
export function forward(
  request: Pick<ClientRequest, 'headers' | 'query'>,
  upstream: Upstream,
  path: string,
  body: Buffer | null,
  signal: ClientGone | undefined,
  key?: UpstreamKey,
): Promise<UpstreamResponse> {
  return upstream.pool.request({
    method: body ? 'POST' : 'GET',
    path: upstream.basePath + path + request.query,
    headers: upstreamRequestHeaders(request.headers, (key ?? upstream).headers),
    body,
    // undici takes any object with addEventListener (api-request.js); its types name AbortSignal.
    signal: signal as AbortSignal | undefined,
  })
}

const TIMEOUTS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

export type FailureKind = 'timeout' | 'reset'

export function failureKind(error: unknown): FailureKind {
  const code = (error as { code?: string } | null)?.code
  return code && TIMEOUTS.has(code) ? 'timeout' : 'reset'
}

/** An upstream that failed to answer: 504 when it timed out, else 502, in the error envelope. */
export function upstreamFailure(error: unknown): GatewayError {
  return failureKind(error) === 'timeout'
    ? new GatewayError('upstream_timeout', 'The upstream did not answer in time', { cause: error })
    : new GatewayError('upstream_error', 'The upstream connection failed', { cause: error })
}

/** An upstream 5xx: its body may describe the operator's account, so only the status goes on. */
export function upstreamStatusError(status: number): GatewayError {
  return new GatewayError('upstream_error', `The upstream answered ${status}`)
}
