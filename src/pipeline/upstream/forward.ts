import { Readable } from 'node:stream'
import { setImmediate } from 'node:timers/promises'
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
  const headers = upstreamRequestHeaders(request.headers, (key ?? upstream).headers)
  const sliced = body !== null && body.length > SLICE_BYTES
  // A body sent in slices keeps its length: undici sends the header and checks the count.
  if (sliced) headers['content-length'] = String(body.length)
  return upstream.pool.request({
    method: body ? 'POST' : 'GET',
    path: upstream.basePath + path + request.query,
    headers,
    body: sliced ? Readable.from(slices(body), { objectMode: false }) : body,
    // undici takes any object with addEventListener (api-request.js); its types name AbortSignal.
    signal: signal as AbortSignal | undefined,
  })
}

/*
 * A large body handed to the socket whole is copied into the kernel in a few
 * writes of megabytes each (as much as the socket's send buffer takes), each
 * a synchronous span of the event loop that grows with the body: at the body
 * limit, tens of milliseconds that every other user's call waits out. In
 * slices, one per turn of the loop, no write holds it longer than one slice
 * takes to copy; the bytes are the same views of the one buffer, never copied.
 */
const SLICE_BYTES = 256 * 1024

async function* slices(body: Buffer) {
  for (let at = 0; at < body.length; at += SLICE_BYTES) {
    if (at > 0) await setImmediate()
    yield body.subarray(at, at + SLICE_BYTES)
  }
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
