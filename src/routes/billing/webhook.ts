import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import type { RateLimiter } from '../../lib/rate-limit.ts'
import { receiveWebhook } from '../../payments/webhook.service.ts'

/** POST /api/v1/billing/webhook/yookassa: the checks and the answers are receiveWebhook's. */
export function createWebhookRoutes({ limiter }: { limiter: RateLimiter }) {
  return new Hono<AppEnv>().post('/yookassa', async (c) => {
    await receiveWebhook(c.get('deps'), limiter, {
      socketAddress: socketAddress(c),
      forwardedFor: c.req.header('x-forwarded-for'),
      querySecret: c.req.query('secret'),
      signatureHeader: c.req.header('x-webhook-signature'),
      body: () => c.req.text(),
    })
    return c.json({ ok: true })
  })
}

function socketAddress(c: Context<AppEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined // app.request() in tests: no socket, so never trusted
  }
}
