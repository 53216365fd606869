import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { proxy } from '../../pipeline/proxy.ts'

/** POST /v1/chat/completions, stream and non-stream; streams are asked for their usage chunk. */
export const chatCompletions = (c: Context<AppEnv>) =>
  proxy(c, { endpoint: 'chat', path: '/chat/completions', injectUsage: true })
