import type { Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { GatewayError } from '../http/errors.ts'
import { requestHeader } from '../http/request-headers.ts'
import { type Admission, admit, refuseBeforeReading } from './admission/admit.ts'
import { outputOfJsonAnswer, tokensOfOutput } from './estimate/output-text.ts'
import { LARGE_BODY_BYTES, prepareOffLoop, refuseWhenQueueFull } from './estimate/token-pool.ts'
import { counterForModel } from './estimate/tokenizer.ts'
import type { Endpoint } from './request/endpoint.ts'
import {
  clientWantsUsage,
  type ParsedRequest,
  parseProxyBody,
  upstreamBody,
} from './request/parse.ts'
import { createOutcome, type Outcome } from './settle/settle.ts'
import { usageFromJsonBody } from './settle/usage.ts'
import { applyStorePolicy } from './stored/store-policy.ts'
import type { StoredIdReader } from './stored/stored-id-reader.ts'
import { idsOfJsonAnswer } from './stored/stored-ids.ts'
import { bindStoredIds, readingIds, storedIdReaderFor } from './stored/stored-objects.ts'
import { type ClientGone, clientGoneSignal, readRequestBody } from './stream/client-io.ts'
import { openClientStream } from './stream/client-stream.ts'
import { linkUpstream, outputAfterDisconnect, type UpstreamLink } from './stream/disconnect.ts'
import { quotaHeaders, sseErrorEvent } from './stream/respond.ts'
import { createSseMeter } from './stream/sse-meter.ts'
import { drainRest, pumpMeteredStream } from './stream/stream-body.ts'
import { type UploadTurn, uploadTurn } from './stream/upload-turns.ts'
import {
  failureKind,
  forward,
  type UpstreamResponse,
  upstreamFailure,
  upstreamStatusError,
} from './upstream/forward.ts'
import { clientResponseHeaders } from './upstream/headers.ts'
import type { Upstream } from './upstream/upstreams.ts'

export interface ProxyRoute {
  endpoint: Endpoint
  /** Path under the upstream's base URL, e.g. "/chat/completions". */
  path: string
  /** Force stream_options.include_usage on streams (Chat Completions and Completions; not Responses). */
  injectUsage: boolean
}

interface Call {
  c: Context<AppEnv>
  route: ProxyRoute
  admission: Admission
  upstream: Upstream
  outcome: Outcome
  /** Aborts when the client goes away before its answer is complete. */
  clientGone: ClientGone
  link: UpstreamLink
}

const LEFT_BEFORE_ANSWER = 'the client disconnected before the answer'

/**
 * The proxy spine, stage by stage: parse -> entitle + admit + estimate +
 * reserve (admit.ts) -> forward -> meter -> settle or release. Every path
 * after the reservation ends it exactly once (settle.ts). Once forward() is
 * called the request counts as sent: a client that leaves from then on is
 * billed (disconnect.ts), only one that left before is released.
 */
export async function proxy(c: Context<AppEnv>, route: ProxyRoute): Promise<Response> {
  const deps = c.get('deps')
  const request = await readRequest(c, route)
  const admission = await admit(c, route.endpoint, request)
  const upstream = deps.upstreams.forModel(admission.model)
  const outcome = createOutcome(deps, admission, {
    requestId: c.get('requestId'),
    endpoint: route.endpoint,
    upstream: upstream.name,
  })
  const clientGone = clientGoneSignal(c)
  const link = linkUpstream(deps.config.quota, admission.model, clientGone)
  const call: Call = { c, route, admission, upstream, outcome, clientGone, link }
  try {
    if (clientGone.aborted) {
      outcome.release('the client disconnected before the request was sent')
      return clientClosed()
    }
    let response: UpstreamResponse
    try {
      const body = upstreamBody(request, route.injectUsage)
      response = await forward(c, upstream, route.path, body, link.signal)
    } catch (error) {
      if (clientGone.aborted) return leftUnanswered(call)
      throw failed(call, error)
    }
    if (response.statusCode >= 400) return await upstreamRefused(call, response)
    const contentType = response.headers['content-type']
    if (
      request.stream &&
      typeof contentType === 'string' &&
      contentType.startsWith('text/event-stream')
    ) {
      if (clientGone.aborted) return await drainUnread(call, response)
      const ids = storedIdReaderFor(deps, admission.userId, route.endpoint, request.body)
      // Only what the gateway injected is removed: a Responses stream passes untouched.
      return streamAnswer(call, response, route.injectUsage && !clientWantsUsage(request), ids)
    }
    return await jsonAnswer(call, response)
  } catch (error) {
    outcome.release('the request failed in the gateway')
    throw error
  }
}

/**
 * The body read, parsed and checked, and the acting user it names. No body
 * costs the event loop more than a few milliseconds before the user's limits
 * have let it in (docs/security.md, "The estimator's cost"): a large one (or
 * one of unknown length) is first checked against the user's counters, then
 * read and handed whole to the worker, which parses, checks and estimates it
 * in turns with other users' work (token-pool.ts).
 */
async function readRequest(c: Context<AppEnv>, route: ProxyRoute): Promise<ParsedRequest> {
  const deps = c.get('deps')
  const { endpoint } = route
  const store = deps.config.storedObjects.store
  const principal = c.get('principal')
  const declared = requestHeader(c, 'content-length')
  let turn: UploadTurn | undefined
  if (declared === undefined || Number(declared) > LARGE_BODY_BYTES) {
    try {
      refuseWhenQueueFull(principal.userId)
      await refuseBeforeReading(c)
      // One large body of the user's read at a time, paced (upload-turns.ts).
      turn = await uploadTurn(principal.userId)
    } catch (error) {
      // The body is not read: the connection closes after the refusal instead of draining it.
      if (error instanceof GatewayError) error.headers.connection = 'close'
      throw error
    }
  }
  let raw: Buffer
  try {
    raw = await readRequestBody(c, turn)
  } finally {
    turn?.end()
  }
  const parsed =
    raw.length > LARGE_BODY_BYTES
      ? await prepareOffLoop(principal.userId, raw, { ...route, store })
      : applyStorePolicy(store, endpoint, parseProxyBody(raw, endpoint))
  c.set('principal', await deps.actingUsers.fromBody(principal, parsed.body))
  return parsed
}

/** Releases after an upstream that never answered a client still waiting; the 502/504 to throw. */
function failed(call: Call, error: unknown) {
  const kind = failureKind(error)
  call.c.get('deps').metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind })
  call.outcome.release(`upstream ${kind}`)
  return upstreamFailure(error)
}

/** Nobody reads this answer: nginx's 499 for the request log. */
function clientClosed(): Response {
  return new Response(null, { status: 499 })
}

/**
 * The client left after the request went upstream and before its answer:
 * billed the request and the input estimate, plus the output reserve when a
 * drain ran out of time (the upstream kept working, unseen).
 */
function leftUnanswered(call: Call): Response {
  const reserve = call.admission.rawOutputReserve
  call.outcome.settle(
    null,
    () => outputAfterDisconnect(call.link, 0, null, reserve),
    LEFT_BEFORE_ANSWER,
  )
  return clientClosed()
}

/** A stream whose client left before its headers: read for usage (drain) or dropped (cancel). */
async function drainUnread(call: Call, response: UpstreamResponse): Promise<Response> {
  const meter = createSseMeter({
    dropUsageChunk: false,
    countTokens: counterForModel(call.admission.model),
  })
  const { body } = response
  const timeout = call.link.drainTimeoutMs
  if (timeout === null) body.destroy()
  const drained =
    timeout === null
      ? null
      : await drainRest(body, body[Symbol.asyncIterator]() as AsyncIterator<Buffer>, meter, timeout)
  const counted = () => meter.deliveredTokens()
  const reserve = call.admission.rawOutputReserve
  call.outcome.settle(
    meter.usage(),
    () => outputAfterDisconnect(call.link, counted(), drained, reserve),
    LEFT_BEFORE_ANSWER,
  )
  return clientClosed()
}

/**
 * Only 2xx answers are billed: a 4xx passes through unchanged, a 5xx becomes
 * a 502. A 401 is about the gateway's own upstream key, not the user's: it
 * becomes a 502 too (OpenAI's 401 body even quotes part of the key).
 */
async function upstreamRefused(call: Call, response: UpstreamResponse): Promise<Response> {
  const { statusCode } = response
  const deps = call.c.get('deps')
  const bytes = Buffer.from(await response.body.arrayBuffer().catch(() => new ArrayBuffer(0)))
  deps.metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind: 'status' })
  call.outcome.release(`upstream answered ${statusCode}`)
  if (statusCode === 401) {
    deps.logger.error(
      { upstream: call.upstream.name },
      'The upstream refused the gateway API key (401)',
    )
  }
  if (statusCode >= 500 || statusCode === 401) throw upstreamStatusError(statusCode)
  return call.c.body(bytes, statusCode as 400, clientResponseHeaders(response.headers))
}

async function jsonAnswer(call: Call, response: UpstreamResponse) {
  let bytes: Buffer<ArrayBuffer>
  try {
    bytes = Buffer.from(await response.body.arrayBuffer())
  } catch (error) {
    if (call.clientGone.aborted) return leftUnanswered(call)
    throw failed(call, error)
  }
  const deps = call.c.get('deps')
  // A client gone meanwhile (drain let the answer arrive) is billed the answer's usage all the same.
  const gone = call.clientGone.aborted
  // Answer first: the settle's write runs while the answer leaves (settle.ts).
  const credited = call.outcome.settle(
    usageFromJsonBody(bytes),
    () => countJson(call, bytes),
    gone ? LEFT_BEFORE_ANSWER : undefined,
  )
  // Bound before the answer leaves: the user may name these ids at once, on any replica.
  await bindStoredIds(deps, call.admission.userId, idsOfJsonAnswer(call.route.endpoint, bytes))
  if (gone) return clientClosed()
  const headers = quotaHeaders(call.admission, credited, clientResponseHeaders(response.headers))
  // A Response over plain headers, not c.body(): hono would copy them into a Headers (and
  // @hono/node-server back out), a few microseconds a call. So hono's prepared headers are
  // not merged in; the one this path has is x-request-id (request-id.ts), set here.
  headers['x-request-id'] = call.c.get('requestId')
  return new Response(bytes, { status: response.statusCode, headers })
}

function streamAnswer(
  call: Call,
  response: UpstreamResponse,
  dropUsage: boolean,
  ids: StoredIdReader | null,
): Response {
  const { c, outcome, route } = call
  const deps = c.get('deps')
  const meter = createSseMeter({
    dropUsageChunk: dropUsage,
    trackSequence: route.endpoint === 'responses',
    countTokens: counterForModel(call.admission.model),
  })
  const countDelivered = () => meter.deliveredTokens()
  const headers = quotaHeaders(call.admission, null, clientResponseHeaders(response.headers))
  const { body } = response
  const opened = openClientStream(c, response.statusCode, headers, body.readableLength > 0)
  pumpMeteredStream({
    body,
    // The ids the stream hands out are bound to the user as they pass (stored-objects.ts).
    meter: ids ? readingIds(meter, ids) : meter,
    sink: opened.sink,
    drainTimeoutMs: call.link.drainTimeoutMs,
    // Answer first: the client sees the end while the settle's write runs (settle.ts).
    onEnd: () => {
      outcome.settle(meter.usage(), countDelivered)
    },
    onFailure: (error) => {
      const kind = failureKind(error)
      deps.metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind })
      // What was delivered is billed, as for a client that leaves mid-stream.
      outcome.settle(meter.usage(), countDelivered, `upstream ${kind} mid-stream`)
      return sseErrorEvent(route.endpoint, upstreamFailure(error), meter.lastSequence())
    },
    onClientGone: (drained) => {
      const reserve = call.admission.rawOutputReserve
      outcome.settle(
        meter.usage(),
        () => outputAfterDisconnect(call.link, countDelivered(), drained, reserve),
        'the client disconnected mid-stream',
      )
    },
  }).catch((error) => {
    // Nothing above throws; should it, the reservation still ends (and the bug shows in the log).
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'The stream failed')
    outcome.settle(meter.usage(), countDelivered, 'the stream failed in the gateway')
    opened.sink.end(new Uint8Array(0))
  })
  return opened.response
}

function countJson(call: Call, bytes: Buffer): number {
  try {
    return tokensOfOutput(
      counterForModel(call.admission.model),
      outputOfJsonAnswer(JSON.parse(bytes.toString('utf8'))),
    )
  } catch {
    return 0
  }
}
