import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { clientRequestOf } from '../../pipeline/proxy.ts'
import { listAllowedModels } from '../../pipeline/upstream/model-list.ts'

/** GET /v1/models: only the models the user's plan allows. */
export async function listModels(c: Context<AppEnv>) {
  return c.json({
    object: 'list',
    data: await listAllowedModels(clientRequestOf(c), c.get('deps')),
  })
}

/** GET /v1/models/{model}: one of them; a model outside the plan is as unknown as a missing one. */
export async function getModel(c: Context<AppEnv>) {
  const id = c.req.param('model')
  const models = await listAllowedModels(clientRequestOf(c), c.get('deps'))
  const model = models.find((entry) => entry.id === id)
  if (!model)
    throw new GatewayError('not_found', `The model '${id}' does not exist`, { param: 'model' })
  return c.json(model)
}
