import { Hono } from 'hono'
import { z } from 'zod'
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys.service.ts'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { validate } from '../../http/validate.ts'
import { describe } from '../openapi/describe.ts'
import { ApiKeyCreated, ApiKeyList } from '../openapi/schemas.ts'

/** Shared with the billing page's form (its `name`), so both take the same names. */
export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  /** Admins only: a key that acts as its owner's admin role (otherwise a key is never admin). */
  admin: z.boolean().optional(),
  /** Admins only: a trusted service key that may name the end user (docs/open-webui.md). */
  acts_for_users: z.boolean().optional(),
  expires_at: z.number().int().positive().optional(),
  // Ten years at most: a key meant to live longer is a key without expiry.
  expires_in_days: z.number().int().min(1).max(3650).optional(),
})

/** /api/v1/keys: a user's own gateway API keys. The key is shown once, at creation. */
export function createKeyRoutes() {
  return new Hono<AppEnv>()
    .use(async function noActingKeys(c, next) {
      // A service key acting for an end user must not mint or revoke that user's keys.
      if (c.get('principal').via.kind === 'acting') {
        throw new GatewayError('permission_denied', 'A key acting for a user cannot manage keys')
      }
      await next()
    })
    .post(
      '/',
      describe({
        summary: 'Create an API key; the key is shown once',
        tag: 'keys',
        responses: {
          '201': { description: 'Created', json: ApiKeyCreated },
          '403': 'admin or acts_for_users asked by a non-admin, or by a key acting for a user',
        },
      }),
      validate('json', createKeyBody),
      async (c) => {
        const body = c.req.valid('json')
        const created = await createApiKey(c.get('deps'), c.get('principal'), {
          name: body.name,
          admin: body.admin,
          actsForUsers: body.acts_for_users,
          expiresAt: body.expires_at,
          expiresInDays: body.expires_in_days,
        })
        return c.json(created, 201)
      },
    )
    .get(
      '/',
      describe({
        summary: "The caller's API keys (no key material)",
        tag: 'keys',
        responses: { '200': { description: 'The live keys', json: ApiKeyList } },
      }),
      async (c) => {
        const data = await listApiKeys(c.get('deps'), c.get('principal').userId)
        return c.json({ data })
      },
    )
    .delete(
      '/:id',
      describe({
        summary: 'Revoke an API key',
        tag: 'keys',
        responses: { '204': 'Revoked', '404': 'No such key' },
      }),
      async (c) => {
        // Someone else's key answers 404 like a missing one: ids of other users' keys are not confirmed.
        const revoked = await revokeApiKey(
          c.get('deps'),
          c.get('principal').userId,
          c.req.param('id'),
        )
        if (!revoked) throw new GatewayError('not_found', 'No such API key')
        return c.body(null, 204)
      },
    )
}
