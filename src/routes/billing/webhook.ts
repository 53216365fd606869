import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import type { RateLimiter } from '../../lib/rate-limit.ts'
import { receiveWebhook } from '../../payments/webhook.service.ts'
import { describe } from '../openapi/describe.ts'

/** POST /api/v1/billing/webhook/yookassa: the checks and the answers are receiveWebhook's. */
export function createWebhookRoutes({ limiter }: { limiter: RateLimiter }) {
  const doc = describe({
    summary: 'YooKassa notification (trusted source address, optional secret, re-read with GET)',
    tag: 'payments',
    public: true,
    responses: {
      '200': 'Recorded or deliberately ignored',
      '400': 'Malformed JSON',
      '401': 'Missing or wrong webhook secret',
      '403': 'Source address not trusted',
      '429': 'Too many notifications from this address',
      '500': 'Transient failure: YooKassa delivers it again',
      '503': 'Billing not configured',
    },
  })
  return new Hono<AppEnv>().post('/yookassa', doc, async (c) => {
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
