import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createAuthenticator } from './auth/authenticate.ts'
import type { Deps } from './deps.ts'
import type { AppEnv } from './http/env.ts'
import { GatewayError } from './http/errors.ts'
import { authenticate } from './http/middleware/authenticate.ts'
import { requestId } from './http/middleware/request-id.ts'
import { requestLog } from './http/middleware/request-log.ts'
import { notFound, onError } from './http/on-error.ts'
import { createKeyRoutes } from './routes/keys/index.ts'
import { createOpsRoutes } from './routes/ops/index.ts'

/**
 * Builds the whole HTTP app from explicit dependencies. Middleware runs in
 * pipeline order: deps -> request id -> log -> body limit -> (per surface) auth.
 */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>()
  const auth = authenticate(createAuthenticator(deps))

  app.use(async function injectDeps(c, next) {
    c.set('deps', deps)
    await next()
  })
  app.use(requestId())
  app.use(requestLog())
  app.use(
    bodyLimit({
      maxSize: deps.config.server.bodyLimitBytes,
      onError: () => {
        throw new GatewayError('payload_too_large', 'Request body too large')
      },
    }),
  )

  app.route('/', createOpsRoutes())

  app.use('/api/v1/keys/*', auth)
  app.route('/api/v1/keys', createKeyRoutes())

  app.onError(onError)
  app.notFound(notFound)
  return app
}

export type App = ReturnType<typeof createApp>
