import { Readable } from 'node:stream'
import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { admitMedia, entitleMedia } from '../admission/media-admit.ts'
import { readBodyInTurn } from '../admission/read-in-turn.ts'
import { recordIfRefusal } from '../admission/refusal-log.ts'
import { estimateMedia } from '../estimate/media-estimate.ts'
import { countOffLoop, LARGE_BODY_BYTES, prepareMediaOffLoop } from '../estimate/token-pool.ts'
import { clientRequestOf } from '../proxy.ts'
import { type ClientRequest, headerOf } from '../request/proxy-request.ts'
import { joinChunks } from '../request/read-body.ts'
import { mediaUsage } from '../settle/media-usage.ts'
import { forward, type UpstreamResponse } from '../upstream/forward.ts'
import { bodyForDeployment } from '../upstream/routes.ts'
import { admittedCall, clientClosed, readAnswer, sendAdmitted } from '../upstream/send-admitted.ts'
import { headersOf, type MediaCall, type MediaDeps } from './media-call.ts'
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
  const client = clientRequestOf(c)
  let read: Awaited<ReturnType<typeof readMediaRequest>> | undefined
  try {
    read = await readMediaRequest(client, route, deps)
    const { request, user } = read
    // The request log names whom the call was for (src/http/middleware/request-log.ts).
    if (user !== client.caller) c.set('actingUser', user)
    return await walkMedia(client, user, route, request, deps)
  } catch (error) {
    // The console's last requests list the refusals too (admission/refusal-log.ts).
    recordIfRefusal(deps, error, {
      userId: (read?.user ?? client.caller).userId,
      requestId: client.requestId,
      model: read?.request.model ?? null,
    })
    throw error
  }
}

async function walkMedia(
  client: ClientRequest,
  user: ClientRequest['caller'],
  route: MediaRoute,
  request: MediaRequest,
  deps: MediaDeps,
): Promise<Response> {
  const entitlement = await entitleMedia(user, request.model, deps)
  const estimate = await estimateMedia(route, request, (text) =>
    countOffLoop(user.userId, request.model, text),
  )
  const admission = await admitMedia(client, entitlement, request.model, estimate, deps)
  const upstreamRoute = deps.upstreams.route(admission.model)
  const upstream = upstreamRoute.candidates[0]!.deployment.upstream
  const call: MediaCall = {
    ...admittedCall(deps, client, route.endpoint, admission, upstream),
    client,
    deps,
    route,
    request,
    estimate,
  }
  const { outcome, link } = call
  try {
    // A deployment that renames the model gets it renamed in a JSON body; a multipart body goes
    // as it came.
    const response = await sendAdmitted(
      call,
      upstreamRoute,
      (candidate) =>
        forward(
          client,
          candidate.deployment.upstream,
          route.path,
          request.multipart ? request.raw : bodyForDeployment(request.raw, candidate.deployment),
          link.signal,
          candidate.key,
        ),
      () => leftUnanswered(call),
    )
    if (response instanceof Response) return response
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
 * The body, bounded by server.bodyLimitBytes, and the acting user it names. A
 * large one (an audio file, an image) is read as a text one is (read-in-turn.ts),
 * then parsed and estimated in the worker.
 */
async function readMediaRequest(client: ClientRequest, route: MediaRoute, deps: MediaDeps) {
  const { caller } = client
  const body = await readBodyInTurn(client, deps)
  const contentType = headerOf(client, 'content-type')
  const request =
    body.length > LARGE_BODY_BYTES
      ? await prepareMediaOffLoop(caller.userId, body, route, contentType)
      : await parseMediaBody(route, joinChunks(body), contentType)
  return { request, user: await deps.actingUsers.fromBody(caller, request.fields) }
}

/** Sent, then left before any answer: billed what was reserved (the upstream still works). */
function leftUnanswered(call: MediaCall): Response {
  call.outcome.settle(null, () => call.admission.rawOutputReserve, LEFT_BEFORE_ANSWER)
  return clientClosed()
}

/** Images, transcriptions, translations, moderations: one JSON (or text) answer, read whole. */
async function wholeAnswer(call: MediaCall, response: UpstreamResponse): Promise<Response> {
  const bytes = await readAnswer(call, response, () => leftUnanswered(call))
  if (bytes instanceof Response) return bytes
  const gone = call.clientGone.aborted
  if (!gone) call.outcome.answeredWith(response.statusCode)
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
  if (!call.clientGone.aborted) call.outcome.answeredWith(response.statusCode)
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
