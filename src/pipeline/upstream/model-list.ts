import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'
import { fromFixed } from '../../lib/fixed.ts'
import { entitle } from '../admission/entitle.ts'
import { isModelAllowed } from '../admission/model-access.ts'
import { weightsFor } from '../estimate/weights.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { type ClientGone, clientGoneSignal } from '../request/client-gone.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { upstreamFailure } from './forward.ts'
import { cachedModelList, type ModelEntry } from './model-list-cache.ts'
import type { Upstream, Upstreams } from './upstreams.ts'

export type { ModelEntry }

/**
 * The models the user's plan allows: every upstream's own list (through its cache,
 * model-list-cache.ts: one deadline for the whole listing, a stalled upstream omitted),
 * keeping a model only where the gateway routes it under that name (a name two upstreams
 * list is served once), plus each route's own name for a model a deployment renames, and
 * only when the plan's features grant it. Not billed.
 */
export async function listAllowedModels(
  request: ClientRequest,
  deps: Pick<
    PipelineDeps,
    'clock' | 'config' | 'entitlements' | 'logger' | 'metrics' | 'upstreams'
  >,
): Promise<ModelEntry[]> {
  const entitlement = await entitle(request.caller, deps)
  const upstreams = deps.upstreams.all()
  const options = { ttlMs: deps.config.modelListCacheMs, timeoutMs: deps.config.modelListTimeoutMs }
  const gone = goneOf(clientGoneSignal(request.connection))
  const lists = await Promise.all(
    upstreams.map((upstream) => cachedModelList(upstream, deps.clock, options, gone.promise)),
  ).finally(() => gone.clear())
  const models: ModelEntry[] = []
  const seen = new Set<string>()
  const keep = (model: ModelEntry) => {
    if (seen.has(model.id) || !isModelAllowed(deps.config, entitlement.plan.features, model.id))
      return
    seen.add(model.id)
    models.push(withWeights(deps.config, model))
  }
  let failure: unknown = null
  for (const [index, list] of lists.entries()) {
    const upstream = upstreams[index]!
    if (list.data === null) {
      failure = list.error
      deps.logger.warn(
        { upstream: upstream.name, err: list.error },
        'Listing the upstream models failed',
      )
      deps.metrics.upstreamErrors.inc({ upstream: upstream.name, kind: 'models' })
      continue
    }
    for (const model of list.data) {
      if (typeof model?.id !== 'string') continue
      if (servesUnderItsName(deps.upstreams, model.id, upstream)) keep(model)
    }
  }
  for (const alias of renamedRoutes(deps.config, deps.upstreams, upstreams, lists)) keep(alias)
  if (lists.every((list) => list.data === null)) throw listingFailure(failure)
  return models
}

/** Does the model's route send it to this upstream under the name the upstream lists? */
function servesUnderItsName(router: Upstreams, model: string, upstream: Upstream): boolean {
  return router
    .route(model)
    .candidates.some((c) => c.deployment.upstream === upstream && c.deployment.model === null)
}

/**
 * A route written as a plain name whose deployment renames the model (`gpt-4o` sent as
 * `gpt-4o-2024-08-06`) is listed under the route's name when that deployment's upstream
 * lists the name it is sent as.
 */
function renamedRoutes(
  config: Config,
  router: Upstreams,
  upstreams: readonly Upstream[],
  lists: ReadonlyArray<{ data: ModelEntry[] | null }>,
): ModelEntry[] {
  const aliases: ModelEntry[] = []
  for (const { model } of config.routes) {
    if (/[*#]/.test(model)) continue
    for (const { deployment } of router.route(model).candidates) {
      if (deployment.model === null) continue
      const listed = lists[upstreams.indexOf(deployment.upstream)]?.data
      const entry = listed?.find((m) => m?.id === deployment.model)
      if (entry) {
        aliases.push({ ...entry, id: model })
        break
      }
    }
  }
  return aliases
}

/** Resolves when the client leaves: the listing stops waiting for an upstream never listed yet. */
function goneOf(client: ClientGone) {
  let onGone = () => {}
  const promise = new Promise<void>((resolve) => {
    onGone = resolve
  })
  if (client.aborted) onGone()
  else client.addEventListener('abort', onGone, { once: true })
  return { promise, clear: () => client.removeEventListener('abort', onGone) }
}

function listingFailure(cause: unknown): GatewayError {
  if (cause instanceof GatewayError) return cause
  const name = (cause as { name?: string } | null)?.name
  // The fetch's own deadline (AbortSignal.timeout), or a client gone before any list came.
  if (name === 'TimeoutError' || name === 'AbortError' || cause === null)
    return new GatewayError('upstream_timeout', 'The upstream did not list its models in time', {
      cause,
    })
  return upstreamFailure(cause)
}

/**
 * The model's weights in `x_gateway`, a field the OpenAI SDKs ignore: a
 * client can show what a token of this model costs against the quota. Only
 * when weights are configured (raw counting adds nothing to the upstream's list).
 */
function withWeights(config: Config, model: ModelEntry): ModelEntry {
  if (Object.keys(config.modelWeights).length === 0) return model
  const { inputMilli, outputMilli } = weightsFor(config, model.id)
  const weights = { input: fromFixed(inputMilli, 3), output: fromFixed(outputMilli, 3) }
  return { ...model, x_gateway: { weights, unit: 'weighted_tokens' } }
}
