import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { requestHeaders } from '../http/request-headers.ts'
import { type AdmitDeps, admit } from './admission/admit.ts'
import { readBodyInTurn } from './admission/read-in-turn.ts'
import { recordIfRefusal } from './admission/refusal-log.ts'
import { outputOfJsonAnswer, tokensOfOutput } from './estimate/output-text.ts'
import { LARGE_BODY_BYTES, prepareOffLoop } from './estimate/token-pool.ts'
import { counterForModel } from './estimate/tokenizer.ts'
import type { PipelineDeps } from './pipeline-deps.ts'
import { clientWantsUsage, parseProxyBody, upstreamBody } from './request/parse.ts'
import {
  type ClientRequest,
  headerOf,
  type ProxyRequest,
  type ProxyRoute,
  type ReadRequest,
} from './request/proxy-request.ts'
import { joinChunks } from './request/read-body.ts'
import { usageFromJsonBody } from './settle/usage.ts'
import { applyStorePolicy } from './stored/store-policy.ts'
import type { StoredIdReader } from './stored/stored-id-reader.ts'
import { idsOfJsonAnswer } from './stored/stored-ids.ts'
import { bindStoredIds, readingIds, storedIdReaderFor } from './stored/stored-objects.ts'
import { openClientStream } from './stream/client-stream.ts'
import {
  IN_BAND_HEADER,
  inBandMeter,
  inBandReport,
  wantsInBandQuota,
  withInBandJson,
} from './stream/in-band-quota.ts'
import { quotaHeaders, sseErrorEvent } from './stream/respond.ts'
import { createSseMeter } from './stream/sse-meter.ts'
import { drainRest, pumpMeteredStream, type StreamMeter } from './stream/stream-body.ts'
import { refuseOtherDialect } from './upstream/dialect.ts'
import { outputAfterDisconnect } from './upstream/disconnect.ts'
import { failureKind, forward, type UpstreamResponse, upstreamFailure } from './upstream/forward.ts'
import { clientResponseHeaders } from './upstream/headers.ts'
import { bodyForDeployment } from './upstream/routes.ts'
import {
  type AdmittedCall,
  admittedCall,
  clientClosed,
  readAnswer,
  sendAdmitted,
} from './upstream/send-admitted.ts'

export type { ProxyRoute } from './request/proxy-request.ts'

/** What the walk of one proxied request calls, all stages together. */
export type ProxyDeps = AdmitDeps & Pick<PipelineDeps, 'actingUsers' | 'logger' | 'upstreams'>

interface Call extends AdmittedCall {
  request: ReadRequest
  deps: ProxyDeps
}

const LEFT_BEFORE_ANSWER = 'the client disconnected before the answer'

/**
 * The entry of a proxied call, the one place besides the route files that reads hono's
 * Context: the request value and the collaborators are taken from it once, then the walk
 * runs on them alone.
 */
export async function proxy(c: Context<AppEnv>, route: ProxyRoute): Promise<Response> {
  const deps = c.get('deps')
  const sent = proxyRequestOf(c, route)
  let request: ReadRequest | undefined
  try {
    request = await readRequest(sent, deps)
    // The request log names whom the call was for (src/http/middleware/request-log.ts).
    if (request.user !== request.caller) c.set('actingUser', request.user)
    return await walk(request, deps)
  } catch (error) {
    // The console's last requests list the refusals too (admission/refusal-log.ts).
    recordIfRefusal(deps, error, {
      userId: (request?.user ?? sent.caller).userId,
      requestId: sent.requestId,
      model: request?.parsed.body.model ?? null,
    })
    throw error
  }
}

/** The request value of a /v1 call (request/proxy-request.ts), from hono's Context. */
export function clientRequestOf(c: Context<AppEnv>): ClientRequest {
  const url = c.req.url
  const query = url.indexOf('?')
  const env = c.env as Partial<HttpBindings> | undefined
  return {
    requestId: c.get('requestId'),
    caller: c.get('principal'),
    headers: requestHeaders(c),
    query: query === -1 ? '' : url.slice(query),
    connection: {
      node: env?.incoming && env.outgoing ? (env as HttpBindings) : undefined,
      web: c.req.raw,
    },
  }
}

function proxyRequestOf(c: Context<AppEnv>, route: ProxyRoute): ProxyRequest {
  return { ...clientRequestOf(c), route }
}

/**
 * The proxy spine, stage by stage, from the read request: admit (entitle, model, in flight,
 * estimate, reserve) -> route to an upstream -> forward -> meter -> settle or release.
 * Every path after the reservation ends it exactly once (settle.ts). Once forward() is
 * called the request counts as sent: a client that leaves from then on is billed
 * (upstream/disconnect.ts), only one that left before is released.
 */
async function walk(request: ReadRequest, deps: ProxyDeps): Promise<Response> {
  const { route, parsed } = request
  // The route first: a model is served in its upstream's API only (dialect.ts).
  const upstreamRoute = deps.upstreams.route(parsed.body.model)
  const upstream = upstreamRoute.candidates[0]!.deployment.upstream
  refuseOtherDialect(route.endpoint, upstream, parsed.body.model)
  const admission = await admit(request, deps)
  const call: Call = {
    ...admittedCall(deps, request, route.endpoint, admission, upstream),
    request,
    deps,
  }
  const { outcome, clientGone, link } = call
  try {
    const body = upstreamBody(parsed, route.injectUsage)
    const response = await sendAdmitted(
      call,
      upstreamRoute,
      (candidate) =>
        forward(
          request,
          candidate.deployment.upstream,
          route.path,
          bodyForDeployment(body, candidate.deployment),
          link.signal,
          candidate.key,
        ),
      () => leftUnanswered(call),
    )
    if (response instanceof Response) return response
    const contentType = response.headers['content-type']
    if (
      parsed.stream &&
      typeof contentType === 'string' &&
      contentType.startsWith('text/event-stream')
    ) {
      if (clientGone.aborted) return await drainUnread(call, response)
      const ids = storedIdReaderFor(deps, admission.userId, route.endpoint, parsed.body)
      // Only what the gateway injected is removed: a Responses stream passes untouched.
      return streamAnswer(call, response, route.injectUsage && !clientWantsUsage(parsed), ids)
    }
    return await jsonAnswer(call, response)
  } catch (error) {
    outcome.release('the request failed in the gateway')
    throw error
  }
}

/**
 * The body read, parsed and checked, and the acting user it names, decided here once. No
 * body costs the event loop more than a few milliseconds before the user's limits have let
 * it in (docs/security.md, "The estimator's cost"): a large one (or one of unknown length) is
 * first checked against the user's counters, then read and handed whole to the worker, which
 * parses, checks and estimates it in turns with other users' work (token-pool.ts).
 */
async function readRequest(request: ProxyRequest, deps: ProxyDeps): Promise<ReadRequest> {
  const { endpoint } = request.route
  const store = deps.config.storedObjects.store
  const { caller } = request
  const body = await readBodyInTurn(request, deps)
  // A body read in a turn may still be small (one of unknown length): joining it costs little.
  const parsed =
    body.length > LARGE_BODY_BYTES
      ? await prepareOffLoop(caller.userId, body, { ...request.route, store })
      : applyStorePolicy(store, endpoint, parseProxyBody(joinChunks(body), endpoint))
  return { ...request, parsed, user: await deps.actingUsers.fromBody(caller, parsed.body) }
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

async function jsonAnswer(call: Call, response: UpstreamResponse) {
  const read = await readAnswer(call, response, () => leftUnanswered(call))
  if (read instanceof Response) return read
  let bytes = read
  const { deps } = call
  // A client gone meanwhile (drain let the answer arrive) is billed the answer's usage all the same.
  const gone = call.clientGone.aborted
  if (!gone) call.outcome.answeredWith(response.statusCode)
  // Answer first: the settle's write runs while the answer leaves (settle.ts).
  const credited = call.outcome.settle(
    usageFromJsonBody(bytes),
    () => countJson(call, bytes),
    gone ? LEFT_BEFORE_ANSWER : undefined,
  )
  // Bound before the answer leaves: the user may name these ids at once, on any replica.
  await bindStoredIds(
    deps,
    call.admission.userId,
    idsOfJsonAnswer(call.request.route.endpoint, bytes),
  )
  if (gone) return clientClosed()
  if (wantsInBandQuota(headerOf(call.request, IN_BAND_HEADER))) {
    bytes = withInBandJson(bytes, inBandReport(call.admission, credited))
  }
  const headers = quotaHeaders(call.admission, credited, clientResponseHeaders(response.headers))
  // A Response over plain headers, not c.body(): hono would copy them into a Headers (and
  // @hono/node-server back out), a few microseconds a call. So hono's prepared headers are
  // not merged in; the one this path has is x-request-id (request-id.ts), set here.
  headers['x-request-id'] = call.request.requestId
  return new Response(bytes, { status: response.statusCode, headers })
}

function streamAnswer(
  call: Call,
  response: UpstreamResponse,
  dropUsage: boolean,
  ids: StoredIdReader | null,
): Response {
  const { request, outcome, deps } = call
  const { route } = request
  const meter = createSseMeter({
    dropUsageChunk: dropUsage,
    trackSequence: route.endpoint === 'responses',
    countTokens: counterForModel(call.admission.model),
  })
  const countDelivered = () => meter.deliveredTokens()
  const headers = quotaHeaders(call.admission, null, clientResponseHeaders(response.headers))
  const { body } = response
  outcome.answeredWith(response.statusCode)
  const opened = openClientStream(
    request.connection,
    request.requestId,
    response.statusCode,
    headers,
    body.readableLength > 0,
  )
  // The ids the stream hands out are bound to the user as they pass (stored-objects.ts).
  let passing: StreamMeter = ids ? readingIds(meter, ids) : meter
  if (wantsInBandQuota(headerOf(request, IN_BAND_HEADER))) {
    // The settle runs as the stream ends, so its credit is what the last event reports;
    // onEnd's settle below then finds the reservation ended and does nothing.
    passing = inBandMeter(passing, route.endpoint, () =>
      inBandReport(call.admission, outcome.settle(meter.usage(), countDelivered)),
    )
  }
  pumpMeteredStream({
    body,
    meter: passing,
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
    deps.logger.error({ err: error, requestId: request.requestId }, 'The stream failed')
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
