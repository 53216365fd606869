import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { clientRequestOf } from '../../pipeline/proxy.ts'
import { listAllowedModels, type ModelEntry } from '../../pipeline/upstream/model-list.ts'

/*
 * One list for both families: an OpenAI client gets OpenAI's envelope, and a
 * client of Anthropic's API (its SDKs and Claude Code send anthropic-version)
 * gets Anthropic's, whichever upstream each model came from. Each entry keeps
 * what its upstream said and gains the fields the other family's clients read.
 */
const wantsAnthropicShape = (c: Context<AppEnv>) => c.req.header('anthropic-version') !== undefined

/** Epoch seconds of an entry: OpenAI's `created`, or Anthropic's RFC 3339 `created_at`. */
function createdSeconds(model: ModelEntry): number {
  if (typeof model.created === 'number') return model.created
  const parsed = typeof model.created_at === 'string' ? Date.parse(model.created_at) : Number.NaN
  return Number.isNaN(parsed) ? 0 : Math.floor(parsed / 1000)
}

function asAnthropic(model: ModelEntry) {
  return {
    ...model,
    type: 'model',
    display_name: typeof model.display_name === 'string' ? model.display_name : model.id,
    created_at: new Date(createdSeconds(model) * 1000).toISOString(),
  }
}

function asOpenAI(model: ModelEntry) {
  const owner = typeof model.owned_by === 'string' ? model.owned_by : 'system'
  return { ...model, object: 'model', created: createdSeconds(model), owned_by: owner }
}

/** GET /v1/models: only the models the user's plan allows. */
export async function listModels(c: Context<AppEnv>) {
  const models = await listAllowedModels(clientRequestOf(c), c.get('deps'))
  if (!wantsAnthropicShape(c)) return c.json({ object: 'list', data: models.map(asOpenAI) })
  // One page holds the whole list: the plan's models are few, and no cursor is needed.
  const data = models.map(asAnthropic)
  return c.json({
    data,
    has_more: false,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  })
}

/** GET /v1/models/{model}: one of them; a model outside the plan is as unknown as a missing one. */
export async function getModel(c: Context<AppEnv>) {
  const id = c.req.param('model')
  const models = await listAllowedModels(clientRequestOf(c), c.get('deps'))
  const model = models.find((entry) => entry.id === id)
  if (!model)
    throw new GatewayError('not_found', `The model '${id}' does not exist`, { param: 'model' })
  return c.json(wantsAnthropicShape(c) ? asAnthropic(model) : asOpenAI(model))
}
