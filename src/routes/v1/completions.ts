import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { proxy } from '../../pipeline/proxy.ts'

/** POST /v1/completions (legacy): its streams take stream_options.include_usage like chat ones. */
export const completions = (c: Context<AppEnv>) =>
  proxy(c, { endpoint: 'completions', path: '/completions', injectUsage: true })
