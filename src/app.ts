import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createAuthenticator } from './auth/authenticate.ts'
import type { Deps } from './deps.ts'
import { anthropicErrors } from './http/anthropic-errors.ts'
import type { AppEnv } from './http/env.ts'
import { GatewayError } from './http/errors.ts'
import { authenticate, requireAdmin } from './http/middleware/authenticate.ts'
import { apiCors } from './http/middleware/cors.ts'
import { metricsAccess } from './http/middleware/metrics-access.ts'
import { assignRequestId } from './http/middleware/request-id.ts'
import { logRequest } from './http/middleware/request-log.ts'
import { notFound, onError } from './http/on-error.ts'
import { requestHeader } from './http/request-headers.ts'
import { createRateLimiter } from './lib/rate-limit.ts'
import {
  createExchangeRateRoutes,
  createMonthlyMarginRoutes,
} from './routes/billing/admin-exchange.ts'
import { createAdminMarginRoutes } from './routes/billing/admin-margin.ts'
import { createAdminRefundRoutes } from './routes/billing/admin-refunds.ts'
import { createBillingRoutes } from './routes/billing/index.ts'
import { createPaymentRoutes } from './routes/billing/payment.ts'
import { createTransactionRoutes } from './routes/billing/transactions.ts'
import { createWebhookRoutes } from './routes/billing/webhook.ts'
import { createKeyRoutes } from './routes/keys/index.ts'
import { createOpsRoutes } from './routes/ops/index.ts'
import { createV1Routes } from './routes/v1/index.ts'
import { createWebRoutes } from './web/index.tsx'

/**
 * Builds the whole HTTP app from explicit dependencies. Middleware runs in
 * pipeline order: deps, request id, log (one middleware) -> body limit -> (per surface) auth.
 */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>()
  const verify = createAuthenticator(deps)
  const auth = authenticate(verify)

  // One middleware for deps, request id and request log: each level of hono's chain costs
  // a promise and a dispatch per request, and these three always run together, in this order.
  app.use(async function requestScope(c, next) {
    c.set('deps', deps)
    assignRequestId(c)
    const started = performance.now()
    await next()
    logRequest(c, started)
  })
  const maxBody = deps.config.server.bodyLimitBytes
  const limitStreamedBody = bodyLimit({
    maxSize: maxBody,
    onError: () => {
      throw new GatewayError('payload_too_large', 'Request body too large')
    },
  })
  // Hono's bodyLimit reads c.req.raw.body, which makes @hono/node-server build a full Request
  // over Readable.toWeb() for every call; a declared content-length is checked from the header.
  app.use(function limitBody(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    // The webhook reads its own body, 64 KiB at most, and only once its sender is judged:
    // the streamed limit below would buffer a stranger's body before that.
    if (c.req.path.startsWith(`${WEBHOOK_MOUNT}/`)) return next()
    const length = requestHeader(c, 'content-length')
    if (length === undefined || requestHeader(c, 'transfer-encoding') !== undefined) {
      return limitStreamedBody(c, next)
    }
    if (Number(length) > maxBody)
      throw new GatewayError('payload_too_large', 'Request body too large')
    return next()
  })

  app.use('/metrics', metricsAccess(verify))
  app.route(
    '/',
    createOpsRoutes(() => app.routes),
  )

  app.use('/api/v1/keys/*', auth)
  app.route('/api/v1/keys', createKeyRoutes())

  // Before authentication: a browser's preflight carries no credentials.
  const cors = apiCors(deps.config.cors)
  if (cors) app.use('/v1/*', cors)
  // Anthropic's surface answers its refusals in Anthropic's envelope and takes x-api-key, as does
  // the model list both families share (Claude Code's model discovery sends its key there too).
  app.use('/v1/messages/*', anthropicErrors())
  const xApiKeyUnder = ['/v1/messages', '/v1/models']
  app.use('/v1/*', authenticate(verify, { bodyMayNameUser: true, xApiKeyUnder }))
  app.route('/v1', createV1Routes())

  // Plans, subscription, usage, me, admin subscriptions; GET /plans is public.
  app.route('/api/v1/billing', createBillingRoutes(auth))

  // YooKassa payments. The webhook is public (YooKassa sends no token; it is
  // checked by source address, secret and a GET re-read instead); the rest need a token.
  const { webhookRatePerMinute, webhookRejectedStoredPerHour } = deps.config.yookassa
  const webhookLimits = {
    perSender: createRateLimiter(deps.clock, webhookRatePerMinute),
    rejectedStored: createRateLimiter(deps.clock, webhookRejectedStoredPerHour / 60, {
      burst: webhookRejectedStoredPerHour,
    }),
  }
  app.route(WEBHOOK_MOUNT, createWebhookRoutes(webhookLimits))
  app.use('/api/v1/billing/payment', auth)
  app.route('/api/v1/billing/payment', createPaymentRoutes())
  app.use('/api/v1/billing/transactions', auth)
  app.route('/api/v1/billing/transactions', createTransactionRoutes())
  app.use('/api/v1/billing/admin/transactions/*', auth, requireAdmin())
  app.route('/api/v1/billing/admin/transactions', createAdminRefundRoutes())
  // Requests, tokens, upstream cost and earnings per user, plan or model.
  app.use('/api/v1/billing/admin/margin', auth, requireAdmin())
  app.route('/api/v1/billing/admin/margin', createAdminMarginRoutes())
  // The same in the shop currency, per month, by the admin's dated exchange rates.
  app.use('/api/v1/billing/admin/margin/monthly', auth, requireAdmin())
  app.route('/api/v1/billing/admin/margin/monthly', createMonthlyMarginRoutes())
  app.use('/api/v1/billing/admin/exchange-rates', auth, requireAdmin())
  app.route('/api/v1/billing/admin/exchange-rates', createExchangeRateRoutes())

  // The pages: /, /signin, /billing, /admin and their assets; see src/web/index.tsx.
  app.route('/', createWebRoutes(verify))

  app.onError(onError)
  app.notFound(notFound)
  return app
}

/** Where the YooKassa webhook is mounted. */
const WEBHOOK_MOUNT = '/api/v1/billing/webhook'

export type App = ReturnType<typeof createApp>
