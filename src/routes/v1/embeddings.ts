import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { proxy } from '../../pipeline/proxy.ts'

/** POST /v1/embeddings: input tokens only (usage.prompt_tokens); nothing streams. */
export const embeddings = (c: Context<AppEnv>) =>
  proxy(c, { endpoint: 'embeddings', path: '/embeddings', injectUsage: false })
