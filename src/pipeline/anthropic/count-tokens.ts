import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { entitle } from '../admission/entitle.ts'
import { isModelAllowed } from '../admission/model-access.ts'
import { readInUserTurn } from '../admission/read-in-turn.ts'
import { estimateInputOffLoop, LARGE_BODY_BYTES, prepareOffLoop } from '../estimate/token-pool.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { clientRequestOf } from '../proxy.ts'
import { clientGoneSignal } from '../request/client-gone.ts'
import { type ParsedRequest, parseProxyBody } from '../request/parse.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { joinChunks } from '../request/read-body.ts'
import { checkStoredReferences } from '../stored/stored-objects.ts'
import { forward, upstreamFailure, upstreamStatusError } from '../upstream/forward.ts'
import { clientResponseHeaders } from '../upstream/headers.ts'
import type { Upstream } from '../upstream/upstreams.ts'

type CountDeps = Pick<PipelineDeps, 'actingUsers' | 'config' | 'metrics'>

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
  const client = clientRequestOf(c)
  const { request, user } = await readCountRequest(client, deps)
  if (user !== client.caller) c.set('actingUser', user)
  const entitlement = await entitle(user, deps)
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
    const answered = await askUpstream(client, deps, upstream, request.raw)
    if (answered) return answered
  }
  const { tokens } =
    request.offLoop?.estimate ??
    (await estimateInputOffLoop(entitlement.userId, 'messages', model, request.body))
  return c.json({ input_tokens: tokens })
}

/** The body parsed as a Messages body (count_tokens takes the same fields but max_tokens and stream). */
async function readCountRequest(client: ClientRequest, deps: CountDeps) {
  const { caller } = client
  // Counting is free: a large body waits only for the user's turn and worker queue.
  const body = await readInUserTurn(client, deps.config.server.bodyLimitBytes)
  const store = deps.config.storedObjects.store
  const request: ParsedRequest =
    body.length > LARGE_BODY_BYTES
      ? await prepareOffLoop(caller.userId, body, {
          endpoint: 'messages',
          injectUsage: false,
          store,
        })
      : parseProxyBody(joinChunks(body), 'messages')
  return { request, user: await deps.actingUsers.fromBody(caller, request.body) }
}

/**
 * The upstream's count, passed through (its 4xx too: a bad body is the client's
 * to see); null when the upstream has no such endpoint (404, 405). A 5xx or a
 * refused key is the gateway's problem: 502, as on /v1/messages.
 */
async function askUpstream(
  client: ClientRequest,
  deps: CountDeps,
  upstream: Upstream,
  body: Buffer,
): Promise<Response | null> {
  let response: Awaited<ReturnType<typeof forward>>
  try {
    const gone = clientGoneSignal(client.connection)
    response = await forward(client, upstream, '/messages/count_tokens', body, gone)
  } catch (error) {
    throw upstreamFailure(error)
  }
  const bytes = Buffer.from(await response.body.arrayBuffer().catch(() => new ArrayBuffer(0)))
  const status = response.statusCode
  if (status === 404 || status === 405) return null
  if (status >= 500 || status === 401) {
    deps.metrics.upstreamErrors.inc({ upstream: upstream.name, kind: 'status' })
    throw upstreamStatusError(status)
  }
  const headers = clientResponseHeaders(response.headers)
  headers['x-request-id'] = client.requestId
  return new Response(bytes, { status, headers })
}
