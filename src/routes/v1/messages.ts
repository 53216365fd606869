import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { countTokens } from '../../pipeline/anthropic/count-tokens.ts'
import { proxy } from '../../pipeline/proxy.ts'

/**
 * POST /v1/messages (Anthropic's Messages API, stream and non-stream): the
 * usage comes in message_start and message_delta, always; nothing is injected.
 */
export const messages = (c: Context<AppEnv>) =>
  proxy(c, { endpoint: 'messages', path: '/messages', injectUsage: false })

/** POST /v1/messages/count_tokens: free, never billed (pipeline/anthropic/count-tokens.ts). */
export const messagesCountTokens = (c: Context<AppEnv>) => countTokens(c)
