import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { proxy } from '../../pipeline/proxy.ts'

/**
 * POST /v1/responses: usage comes with the final `response.completed` event,
 * always; the Responses API has no stream_options to inject.
 */
export const responses = (c: Context<AppEnv>) =>
  proxy(c, { endpoint: 'responses', path: '/responses', injectUsage: false })
