import { Hono } from 'hono'
import { z } from 'zod'
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { validate } from '../../http/validate.ts'

const createKeyBody = z.strictObject({ name: z.string().trim().min(1).max(100) })

/** /api/v1/keys: a user's own gateway API keys. The key is shown once, at creation. */
export function createKeyRoutes() {
  return new Hono<AppEnv>()
    .post('/', validate('json', createKeyBody), async (c) => {
      const { name } = c.req.valid('json')
      const created = await createApiKey(c.get('deps'), c.get('principal').userId, name)
      return c.json(created, 201)
    })
    .get('/', async (c) => {
      const data = await listApiKeys(c.get('deps'), c.get('principal').userId)
      return c.json({ data })
    })
    .delete('/:id', async (c) => {
      // Someone else's key answers 404 like a missing one: ids of other users' keys are not confirmed.
      const revoked = await revokeApiKey(
        c.get('deps'),
        c.get('principal').userId,
        c.req.param('id'),
      )
      if (!revoked) throw new GatewayError('not_found', 'No such API key')
      return c.body(null, 204)
    })
}
