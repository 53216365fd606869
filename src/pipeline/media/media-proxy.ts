import { Readable } from 'node:stream'
import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { requestHeader } from '../../http/request-headers.ts'
import { refuseBeforeReading } from '../admission/admit.ts'
import { admitMedia, entitleMedia } from '../admission/media-admit.ts'
import { estimateMedia } from '../estimate/media-estimate.ts'
import { LARGE_BODY_BYTES } from '../estimate/token-pool.ts'
import { mediaUsage } from '../settle/media-usage.ts'
import { createOutcome } from '../settle/settle.ts'
import { clientGoneSignal, readRequestBody } from '../stream/client-io.ts'
import { linkUpstream } from '../stream/disconnect.ts'
import {
  failureKind,
  forward,
  type UpstreamResponse,
  upstreamFailure,
  upstreamStatusError,
} from '../upstream/forward.ts'
import { clientResponseHeaders } from '../upstream/headers.ts'
import { headersOf, type MediaCall } from './media-call.ts'
import { type MediaRequest, type MediaRoute, parseMediaBody } from './media-request.ts'
import { relayMediaStream } from './media-stream.ts'

const LEFT_BEFORE_ANSWER = 'the client disconnected before the answer'

/**
 * The media spine, the text proxy's stages for images, audio and moderations:
 * read (within the body limit) and parse -> entitle + estimate + reserve ->
 * forward the body untouched -> settle from the answer, or release. Every
 * path after the reservation ends it exactly once (settle.ts). Once forward()
 * is called the request is billed whatever the client does: a speech client
 * that leaves mid-audio was billed when the audio began (its characters are
 * known), one that leaves before the answer is billed the reservation.
 */
export async function proxyMedia(c: Context<AppEnv>, route: MediaRoute): Promise<Response> {
  const deps = c.get('deps')
  const request = await readMediaRequest(c, route)
  const entitlement = await entitleMedia(c, request.model)
  const estimate = await estimateMedia(route, request)
  const admission = await admitMedia(c, entitlement, request.model, estimate)
  const upstream = deps.upstreams.forModel(admission.model)
  const outcome = createOutcome(deps, admission, {
    requestId: c.get('requestId'),
    endpoint: route.endpoint,
    upstream: upstream.name,
  })
  const clientGone = clientGoneSignal(c)
  const link = linkUpstream(deps.config.quota, admission.model, clientGone)
  const call: MediaCall = {
    c,
    route,
    request,
    estimate,
    admission,
    upstream,
    outcome,
    clientGone,
    link,
  }
  try {
    if (clientGone.aborted) {
      outcome.release('the client disconnected before the request was sent')
      return clientClosed()
    }
    let response: UpstreamResponse
    try {
      response = await forward(c, upstream, route.path, request.raw, link.signal)
    } catch (error) {
      if (clientGone.aborted) return leftUnanswered(call)
      throw failed(call, error)
    }
    if (response.statusCode >= 400) return await upstreamRefused(call, response)
    const contentType = String(response.headers['content-type'] ?? '')
    if (contentType.startsWith('text/event-stream')) return relayMediaStream(call, response)
    if (route.endpoint === 'audio_speech') return relayAudio(call, response)
    return await wholeAnswer(call, response)
  } catch (error) {
    outcome.release('the request failed in the gateway')
    throw error
  }
}

/**
 * The body, bounded by server.bodyLimitBytes (readRequestBody), and the acting
 * user it names. A large one (an audio file) is first checked against the
 * user's counters, so a user with nothing left is refused before it is read.
 */
async function readMediaRequest(c: Context<AppEnv>, route: MediaRoute): Promise<MediaRequest> {
  const deps = c.get('deps')
  const declared = requestHeader(c, 'content-length')
  if (declared === undefined || Number(declared) > LARGE_BODY_BYTES) {
    try {
      await refuseBeforeReading(c)
    } catch (error) {
      if (error instanceof GatewayError) error.headers.connection = 'close'
      throw error
    }
  }
  const raw = await readRequestBody(c)
  const request = await parseMediaBody(route, raw, requestHeader(c, 'content-type'))
  c.set('principal', await deps.actingUsers.fromBody(c.get('principal'), request.fields))
  return request
}

function failed(call: MediaCall, error: unknown) {
  const kind = failureKind(error)
  call.c.get('deps').metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind })
  call.outcome.release(`upstream ${kind}`)
  return upstreamFailure(error)
}

function clientClosed(): Response {
  return new Response(null, { status: 499 })
}

/** Sent, then left before any answer: billed what was reserved (the upstream still works). */
function leftUnanswered(call: MediaCall): Response {
  call.outcome.settle(null, () => call.admission.rawOutputReserve, LEFT_BEFORE_ANSWER)
  return clientClosed()
}

/** As the text proxy: a 4xx passes through and releases, a 5xx or 401 is a 502. */
async function upstreamRefused(call: MediaCall, response: UpstreamResponse): Promise<Response> {
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

/** Images, transcriptions, translations, moderations: one JSON (or text) answer, read whole. */
async function wholeAnswer(call: MediaCall, response: UpstreamResponse): Promise<Response> {
  let bytes: Buffer<ArrayBuffer>
  try {
    bytes = Buffer.from(await response.body.arrayBuffer())
  } catch (error) {
    if (call.clientGone.aborted) return leftUnanswered(call)
    throw failed(call, error)
  }
  const gone = call.clientGone.aborted
  const credited = call.outcome.settle(
    mediaUsage(call.route, call.request, call.estimate, bytes),
    () => call.admission.rawOutputReserve,
    gone ? LEFT_BEFORE_ANSWER : undefined,
  )
  if (gone) return clientClosed()
  return new Response(bytes, {
    status: response.statusCode,
    headers: headersOf(call, response, credited),
  })
}

/**
 * Speech: audio bytes, streamed on as they come. What it costs is fixed by
 * the request (its characters), so it is settled as the audio begins: a
 * client that leaves mid-audio is billed all the same, and the upstream call
 * is cancelled with it (the web stream's cancel destroys undici's body).
 */
function relayAudio(call: MediaCall, response: UpstreamResponse): Response {
  const credited = call.outcome.settle(
    mediaUsage(call.route, call.request, call.estimate, null),
    () => 0,
    call.clientGone.aborted ? LEFT_BEFORE_ANSWER : undefined,
  )
  const body = Readable.toWeb(response.body) as ReadableStream<Uint8Array>
  return new Response(body, {
    status: response.statusCode,
    headers: headersOf(call, response, credited),
  })
}
