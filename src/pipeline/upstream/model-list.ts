import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'
import { fromFixed } from '../../lib/fixed.ts'
import { entitle } from '../admission/entitle.ts'
import { isModelAllowed } from '../admission/model-access.ts'
import { weightsFor } from '../estimate/weights.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { type ClientGone, clientGoneSignal } from '../request/client-gone.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { forward, upstreamFailure } from './forward.ts'

export interface ModelEntry {
  id: string
  [field: string]: unknown
}

/**
 * The models the user's plan allows: every upstream's own list, keeping a
 * model only where the gateway routes it (a name two upstreams list is served
 * by one) and only when the plan's features grant it. Not billed.
 */
export async function listAllowedModels(
  request: ClientRequest,
  deps: Pick<PipelineDeps, 'config' | 'entitlements' | 'logger' | 'metrics' | 'upstreams'>,
): Promise<ModelEntry[]> {
  const entitlement = await entitle(request.caller, deps)
  const upstreams = deps.upstreams.all()
  const deadline = listingDeadline(
    clientGoneSignal(request.connection),
    deps.config.modelListTimeoutMs,
  )
  const lists = await Promise.allSettled(
    upstreams.map(async (upstream) => {
      try {
        const response = await forward(request, upstream, '/models', null, deadline.signal)
        const text = await response.body.text()
        if (response.statusCode >= 400) throw new Error(`upstream answered ${response.statusCode}`)
        const data = (JSON.parse(text) as { data?: unknown }).data
        return { upstream, data: Array.isArray(data) ? (data as ModelEntry[]) : [] }
      } catch (error) {
        throw deadline.expired ? listingTimeout(error) : error
      }
    }),
  ).finally(() => deadline.clear())
  const models: ModelEntry[] = []
  let failure: unknown = null
  for (const [index, list] of lists.entries()) {
    if (list.status === 'rejected') {
      failure = list.reason
      const upstream = upstreams[index]!.name
      deps.logger.warn({ upstream, err: list.reason }, 'Listing the upstream models failed')
      deps.metrics.upstreamErrors.inc({ upstream, kind: 'models' })
      continue
    }
    for (const model of list.value.data) {
      if (typeof model?.id !== 'string') continue
      if (deps.upstreams.forModel(model.id) !== list.value.upstream) continue
      if (!isModelAllowed(deps.config, entitlement.plan.features, model.id)) continue
      models.push(withWeights(deps.config, model))
    }
  }
  if (failure && lists.every((list) => list.status === 'rejected')) {
    throw failure instanceof GatewayError ? failure : upstreamFailure(failure)
  }
  return models
}

/**
 * One deadline for the whole listing, body included: an upstream that sends its list a byte
 * at a time never trips a per-read timeout. Aborts when the client leaves or when `ms` pass;
 * the abort reaches undici, which closes the upstream's socket.
 */
function listingDeadline(client: ClientGone, ms: number) {
  const controller = new AbortController()
  const onGone = () => controller.abort(client.reason)
  if (client.aborted) onGone()
  else client.addEventListener('abort', onGone, { once: true })
  const timer = setTimeout(() => controller.abort(new Error('model list deadline')), ms)
  return {
    signal: controller.signal,
    get expired() {
      return controller.signal.aborted && !client.aborted
    },
    clear() {
      clearTimeout(timer)
      client.removeEventListener('abort', onGone)
    },
  }
}

function listingTimeout(cause: unknown) {
  return new GatewayError('upstream_timeout', 'The upstream did not list its models in time', {
    cause,
  })
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
