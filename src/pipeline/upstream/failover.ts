import { GatewayError } from '../../http/errors.ts'
import { notifyOperator, type OutgoingEvent } from '../../notify/notify.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import type { ClientGone } from '../request/client-gone.ts'
import {
  failureKind,
  type UpstreamResponse,
  upstreamFailure,
  upstreamStatusError,
} from './forward.ts'
import { type FailureKind, recordAnswer, recordFailure } from './key-health.ts'
import { pickNext, soonestRecovery } from './pick.ts'
import type { Candidate, Route } from './routes.ts'
import { judge, type Verdict } from './verdict.ts'

export type FailoverDeps = Pick<
  PipelineDeps,
  'config' | 'clock' | 'database' | 'ids' | 'logger' | 'metrics'
>

/** The attempt that answered: its response (body unread, or read when it is a client error). */
export interface Answered {
  response: UpstreamResponse
  candidate: Candidate
  /** The body of a 4xx the client caused (verdict.ts), already read; null for an answer. */
  errorBody: Buffer | null
}

const NONE_TRIED: Set<Candidate> = new Set()
const ANSWER: Verdict = { kind: 'answer' }

/** The client left between two attempts: nothing is in flight, nothing answered. */
export class ClientLeftBetweenAttempts extends Error {}

interface Failed {
  kind: FailureKind
  status: number | null
  retryAfterMs: number | null
  error: unknown
}

/**
 * Sends one request to the route's candidates in turn until one answers. Only failures before
 * the first byte of the answer reach this loop (a stream that started is the caller's), so a
 * retry is never seen by the client. The ledger's reservation is made once before and ended
 * once after by the caller: the attempts share it, and only the one that answered is billed.
 *
 * Bounded: at most `failover.maxAttempts` attempts, none started after `failover.deadlineMs`.
 * Each failure rests its key (key-health.ts); a refused key is an operator alert. When no
 * attempt answers, the error says it is the upstreams' trouble (errorAfterFailures), never
 * with the upstream's body, which goes to the operator's log instead.
 *
 * `send` throws when the upstream was not reached or did not answer; when the client has gone
 * meanwhile the error is rethrown as is (the caller bills a client that left after sending).
 */
export async function sendWithFailover(
  deps: FailoverDeps,
  route: Route,
  clientGone: ClientGone,
  send: (candidate: Candidate) => Promise<UpstreamResponse>,
): Promise<Answered> {
  const policy = deps.config.failover
  // Made at the first failure: the common request (its first attempt answers) allocates none.
  let tried: Set<Candidate> = NONE_TRIED
  let attempts = 0
  const started = performance.now()
  let last: Failed | null = null
  for (;;) {
    if (attempts >= policy.maxAttempts) break
    if (attempts > 0 && performance.now() - started > policy.deadlineMs) break
    const candidate = pickNext(route, tried, deps.clock.now(), Math.random)
    if (candidate === null) break
    if (clientGone.aborted) throw new ClientLeftBetweenAttempts()
    attempts++
    const { key } = candidate
    deps.metrics.upstreamRequests.add(key.id, key.labels)
    const sentAt = performance.now()
    let response: UpstreamResponse
    try {
      response = await send(candidate)
    } catch (error) {
      if (clientGone.aborted) throw error
      const kind = failureKind(error) === 'timeout' ? 'timeout' : 'connect'
      last = { kind, status: null, retryAfterMs: null, error }
      failed(deps, candidate, last, null)
      tried = triedToo(tried, candidate)
      continue
    }
    const latencyMs = performance.now() - sentAt
    deps.metrics.upstreamLatency.add(key.id, key.labels, latencyMs / 1000)
    deps.metrics.upstreamAnswers.add(key.id, key.labels)
    // A 2xx is the common case: no await (a microtask) for the verdict's body read.
    const verdict = response.statusCode < 400 ? ANSWER : await judge(response, deps.clock.now())
    if (verdict.kind !== 'failure') {
      recordAnswer(key.health, latencyMs)
      const errorBody = verdict.kind === 'client_error' ? verdict.body : null
      return { response, candidate, errorBody }
    }
    last = {
      kind: verdict.failure,
      status: verdict.status,
      retryAfterMs: verdict.retryAfterMs,
      error: null,
    }
    failed(deps, candidate, last, verdict.body)
    tried = triedToo(tried, candidate)
  }
  const error = errorAfterFailures(deps, route, last)
  if (error.code === 'upstream_unavailable') {
    const upstreams = [...new Set(route.candidates.map((c) => c.deployment.upstream.name))]
    alertOperator(deps, {
      type: 'upstream.unavailable',
      data: { upstreams, attempts, last_failure: last?.kind ?? null },
      // One a minute for a set of upstreams, not one a request.
      dedupeKey: `upstream.unavailable:${upstreams.join(',')}:${Math.floor(deps.clock.now() / 60_000)}`,
    })
  }
  throw error
}

/**
 * Records the operator's webhook (notify.ts; nothing while notifications.webhookUrl is unset)
 * without holding the request: an alert that cannot be written is logged, never the payer's
 * problem.
 */
function alertOperator(deps: FailoverDeps, event: OutgoingEvent) {
  notifyOperator(deps, event).catch((error: unknown) =>
    deps.logger.error({ err: error, event: event.type }, 'Recording an operator alert failed'),
  )
}

function triedToo(tried: Set<Candidate>, candidate: Candidate): Set<Candidate> {
  return tried === NONE_TRIED ? new Set([candidate]) : tried.add(candidate)
}

/** Rests the key, counts and logs the failure (the upstream's body for the operator only). */
function failed(deps: FailoverDeps, candidate: Candidate, failure: Failed, body: Buffer | null) {
  const { key } = candidate
  const now = deps.clock.now()
  const restMs = recordFailure(
    key.health,
    failure.kind,
    now,
    deps.config.failover,
    failure.retryAfterMs,
  )
  const { labels } = key
  deps.metrics.upstreamFailures.inc({ ...labels, kind: failure.kind })
  deps.metrics.upstreamCooldowns.inc({ ...labels, reason: key.health.reason ?? 'failing' })
  // Never the key (the `key` field is redacted by the logger anyway): its variable's name.
  const line = {
    upstream: key.upstream.name,
    upstreamKey: key.label,
    status: failure.status,
    failure: failure.kind,
    restMs,
    upstreamBody: body ? redactedBody(body, key.authorization) : undefined,
    err: failure.error ?? undefined,
  }
  if (failure.kind === 'auth' || failure.kind === 'credit') {
    deps.metrics.upstreamAlerts.inc({ ...labels, reason: failure.kind })
    deps.logger.error(line, 'The upstream refused the key: out of rotation until the recheck')
    alertOperator(deps, {
      type: 'upstream.key_refused',
      // The key's variable name, never the key; the upstream's body stays in the log.
      data: {
        upstream: key.upstream.name,
        key: key.label,
        reason: failure.kind,
        status: failure.status,
      },
      // Once per key and rest: a key taken out again after its recheck is a new alert.
      dedupeKey: `upstream.key_refused:${key.id}:${now + restMs}`,
    })
  } else {
    deps.logger.warn(line, 'An upstream attempt failed; the key rests')
  }
}

/**
 * The upstream's error body for the operator's log: bounded, and without anything shaped like
 * a key (OpenAI's 401 quotes the start of the key it refused).
 */
function redactedBody(body: Buffer, authorization: string | undefined): string {
  let text = body.subarray(0, 2048).toString('utf8')
  const secret = authorization?.slice('Bearer '.length)
  if (secret) text = text.split(secret).join('[redacted]')
  return text.replace(/\b(sk|key|pk|rk)-[A-Za-z0-9_*.-]{3,}/g, '[redacted]')
}

/**
 * What the payer sees when no attempt answered. A route of one candidate keeps the answers of
 * a single upstream (a reset or 5xx is 502, a timeout 504); otherwise, or whenever the key was
 * refused, 503 `upstream_unavailable`; 429 `rate_limit_exceeded` with Retry-After when every
 * candidate rests for a while that will end. Never `insufficient_quota`: that is the payer's
 * own plan only. Never the upstream's body.
 */
export function errorAfterFailures(
  deps: Pick<FailoverDeps, 'clock'>,
  route: Route,
  last: Failed | null,
): GatewayError {
  const now = deps.clock.now()
  if (route.candidates.length === 1 && last !== null) {
    if (last.kind === 'timeout' || last.kind === 'connect') return upstreamFailure(last.error)
    if (last.kind === 'server_error') return upstreamStatusError(last.status ?? 502)
  }
  const soonest = soonestRecovery(route, now)
  if (soonest !== null) {
    const seconds = Math.max(1, Math.ceil((soonest - now) / 1000))
    return new GatewayError(
      'rate_limit_exceeded',
      `The upstreams serving this model are busy; retry after ${seconds} s`,
      { headers: { 'retry-after': String(seconds) } },
    )
  }
  return new GatewayError(
    'upstream_unavailable',
    'No upstream serving this model is available; please try again later',
  )
}
