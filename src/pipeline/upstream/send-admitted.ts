import { GatewayError } from '../../http/errors.ts'
import type { Admission } from '../admission/admit.ts'
import { type ClientGone, clientGoneSignal } from '../request/client-gone.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { createOutcome, type Outcome, type OutcomeDeps } from '../settle/settle.ts'
import { linkUpstream, type UpstreamLink } from './disconnect.ts'
import { ClientLeftBetweenAttempts, type FailoverDeps, sendWithFailover } from './failover.ts'
import { failureKind, type UpstreamResponse, upstreamFailure } from './forward.ts'
import { clientResponseHeaders } from './headers.ts'
import type { Candidate, Route } from './routes.ts'
import type { Upstream } from './upstreams.ts'

/**
 * A call admitted and reserved, as the text and the media spines both hold it
 * (proxy.ts, media/media-proxy.ts): what sending it and each of its endings need.
 */
export interface AdmittedCall {
  /** The gateway's request id, set on the answers built here. */
  requestId: string
  deps: FailoverDeps
  admission: Admission
  /** The upstream that answered (the route's first until failover.ts says otherwise). */
  upstream: Upstream
  outcome: Outcome
  /** Aborts when the client goes away before its answer is complete. */
  clientGone: ClientGone
  link: UpstreamLink
}

/**
 * The call of a reserved admission, from here on ended exactly once: its outcome (settle.ts),
 * the signal of its client leaving and the link that tells the upstream call what to do then.
 */
export function admittedCall(
  deps: FailoverDeps & OutcomeDeps,
  client: ClientRequest,
  endpoint: string,
  admission: Admission,
  upstream: Upstream,
): AdmittedCall {
  const { requestId } = client
  const outcome = createOutcome(deps, admission, { requestId, endpoint, upstream: upstream.name })
  const clientGone = clientGoneSignal(client.connection)
  const link = linkUpstream(deps.config.quota, admission.model, clientGone)
  return { requestId, deps, admission, upstream, outcome, clientGone, link }
}

/**
 * Sends the admitted call through the route's candidates (failover.ts) and ends its
 * reservation on every path that is not an answer to meter: the client gone before it was
 * sent or between two attempts (released, 499), gone after it was sent (`leftUnanswered`
 * bills it, as each spine decides), the client's own bad request (passed through, released),
 * no upstream answering a client still waiting (released, thrown in the payer's terms).
 * Returns the answer to meter and settle, or the Response that ended the call.
 */
export async function sendAdmitted(
  call: AdmittedCall,
  route: Route,
  send: (candidate: Candidate) => Promise<UpstreamResponse>,
  leftUnanswered: () => Response,
): Promise<UpstreamResponse | Response> {
  const { outcome, clientGone } = call
  if (clientGone.aborted) {
    outcome.release('the client disconnected before the request was sent')
    return clientClosed()
  }
  try {
    // One reservation for every attempt: the one that answers is billed (failover.ts).
    const answered = await sendWithFailover(call.deps, route, clientGone, send)
    if (answered.candidate.deployment.upstream !== call.upstream) {
      call.upstream = answered.candidate.deployment.upstream
      outcome.answeredBy(call.upstream.name)
    }
    if (answered.errorBody) return clientRefused(call, answered.response, answered.errorBody)
    return answered.response
  } catch (error) {
    if (error instanceof ClientLeftBetweenAttempts) {
      outcome.release('the client disconnected between two upstream attempts')
      return clientClosed()
    }
    if (clientGone.aborted && !(error instanceof GatewayError)) return leftUnanswered()
    throw releaseFailed(call, error)
  }
}

/**
 * Releases after no upstream answered a client still waiting; the error to throw (failover.ts
 * built it in the payer's terms, or the upstream failed before its answer was read whole).
 */
export function releaseFailed(call: AdmittedCall, error: unknown): GatewayError {
  if (error instanceof GatewayError) {
    call.outcome.release(`no upstream answered: ${error.code}`)
    return error
  }
  const kind = failureKind(error)
  call.deps.metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind })
  call.outcome.release(`upstream ${kind}`)
  return upstreamFailure(error)
}

/** Nobody reads this answer: nginx's 499 for the request log. */
export function clientClosed(): Response {
  return new Response(null, { status: 499 })
}

/**
 * Only 2xx answers are billed: the client's own bad request (a 4xx verdict.ts lets through)
 * passes through unchanged. The upstream's own troubles (5xx, 401/403, 429, the operator's
 * credit) never get here: failover.ts tries elsewhere or answers in the payer's terms.
 */
function clientRefused(call: AdmittedCall, response: UpstreamResponse, bytes: Buffer): Response {
  const { statusCode } = response
  call.deps.metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind: 'status' })
  call.outcome.release(`upstream answered ${statusCode}`)
  // A Response of its own, as the JSON answers': the request id is set here (request-id.ts).
  const headers = clientResponseHeaders(response.headers)
  headers['x-request-id'] = call.requestId
  return new Response(new Uint8Array(bytes), { status: statusCode, headers })
}

/**
 * A JSON (or text) answer's body, read whole; or, when the read fails, the call ended: billed
 * by `leftUnanswered` if the client left meanwhile, else released and thrown.
 */
export async function readAnswer(
  call: AdmittedCall,
  response: UpstreamResponse,
  leftUnanswered: () => Response,
): Promise<Buffer<ArrayBuffer> | Response> {
  try {
    return Buffer.from(await response.body.arrayBuffer())
  } catch (error) {
    if (call.clientGone.aborted) return leftUnanswered()
    throw releaseFailed(call, error)
  }
}
