import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { entitle } from '../admission/admit.ts'
import { isModelAllowed } from '../admission/model-access.ts'
import {
  estimateInputOffLoop,
  LARGE_BODY_BYTES,
  prepareOffLoop,
  refuseWhenQueueFull,
} from '../estimate/token-pool.ts'
import { type ParsedRequest, parseProxyBody } from '../request/parse.ts'
import { checkStoredReferences } from '../stored/stored-objects.ts'
import { clientGoneSignal, readRequestBody } from '../stream/client-io.ts'
import { forward, upstreamFailure, upstreamStatusError } from '../upstream/forward.ts'
import { clientResponseHeaders } from '../upstream/headers.ts'
import type { Upstream } from '../upstream/upstreams.ts'

/**
 * POST /v1/messages/count_tokens. Counting is free at Anthropic and free here:
 * nothing is reserved or billed, not even the request (docs/claude-code.md).
 * It is still gated like a call: the plan must be live and grant the model,
 * and the stored objects the body names must be the user's own; the body is
 * read and parsed under the same limits as /v1/messages (a large one in the
 * worker). An Anthropic upstream answers it; when the model is served by an
 * upstream that has no count_tokens (another kind, or one answering 404), the
 * gateway's own estimate answers, in the same shape: `{"input_tokens": N}`.
 */
export async function countTokens(c: Context<AppEnv>): Promise<Response> {
  const deps = c.get('deps')
  const request = await readCountRequest(c)
  const entitlement = await entitle(c)
  const model = request.body.model
  if (!isModelAllowed(deps.config, entitlement.plan.features, model)) {
    throw new GatewayError(
      'model_not_allowed',
      `The model '${model}' is not included in your plan (${entitlement.plan.id})`,
      { param: 'model' },
    )
  }
  await checkStoredReferences(deps, entitlement.userId, 'messages', request)
  const upstream = deps.upstreams.forModel(model)
  if (upstream.config.kind === 'anthropic') {
    const answered = await askUpstream(c, upstream, request.raw)
    if (answered) return answered
  }
  const { tokens } =
    request.offLoop?.estimate ??
    (await estimateInputOffLoop(entitlement.userId, 'messages', model, request.body))
  return c.json({ input_tokens: tokens })
}

/** The body parsed as a Messages body (count_tokens takes the same fields but max_tokens and stream). */
async function readCountRequest(c: Context<AppEnv>): Promise<ParsedRequest> {
  const deps = c.get('deps')
  const principal = c.get('principal')
  refuseWhenQueueFull(principal.userId)
  const raw = await readRequestBody(c)
  const store = deps.config.storedObjects.store
  const request =
    raw.length > LARGE_BODY_BYTES
      ? await prepareOffLoop(principal.userId, raw, {
          endpoint: 'messages',
          injectUsage: false,
          store,
        })
      : parseProxyBody(raw, 'messages')
  c.set('principal', await deps.actingUsers.fromBody(principal, request.body))
  return request
}

/**
 * The upstream's count, passed through (its 4xx too: a bad body is the client's
 * to see); null when the upstream has no such endpoint (404, 405). A 5xx or a
 * refused key is the gateway's problem: 502, as on /v1/messages.
 */
async function askUpstream(
  c: Context<AppEnv>,
  upstream: Upstream,
  body: Buffer,
): Promise<Response | null> {
  let response: Awaited<ReturnType<typeof forward>>
  try {
    response = await forward(c, upstream, '/messages/count_tokens', body, clientGoneSignal(c))
  } catch (error) {
    throw upstreamFailure(error)
  }
  const bytes = Buffer.from(await response.body.arrayBuffer().catch(() => new ArrayBuffer(0)))
  const status = response.statusCode
  if (status === 404 || status === 405) return null
  if (status >= 500 || status === 401) {
    c.get('deps').metrics.upstreamErrors.inc({ upstream: upstream.name, kind: 'status' })
    throw upstreamStatusError(status)
  }
  return c.body(bytes, status as 200, clientResponseHeaders(response.headers))
}
