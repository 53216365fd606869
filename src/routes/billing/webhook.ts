import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { requestHeader } from '../../http/request-headers.ts'
import { receiveWebhook, type WebhookLimits } from '../../payments/webhook.service.ts'
import { describe } from '../openapi/describe.ts'

/** POST /api/v1/billing/webhook/yookassa: the checks and the answers are receiveWebhook's. */
export function createWebhookRoutes(limits: WebhookLimits) {
  const doc = describe({
    summary: 'YooKassa notification (trusted source address, optional secret, re-read with GET)',
    tag: 'payments',
    public: true,
    responses: {
      '200': 'Recorded or deliberately ignored',
      '400': 'Malformed JSON',
      '401': 'Missing or wrong webhook secret',
      '403': 'Source address not trusted',
      '413': 'Body over 64 KiB',
      '429': 'Too many notifications from this address',
      '500': 'Transient failure: YooKassa delivers it again',
      '503': 'Billing not configured',
    },
  })
  return new Hono<AppEnv>().post('/yookassa', doc, async (c) => {
    await receiveWebhook(c.get('deps'), limits, {
      socketAddress: socketAddress(c),
      forwardedFor: c.req.header('x-forwarded-for'),
      querySecret: c.req.query('secret'),
      signatureHeader: c.req.header('x-webhook-signature'),
      body: (maxBytes) => readCapped(c, maxBytes),
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

/** The body as UTF-8 text, or null past `maxBytes`: declared (content-length) or as it streams in. */
async function readCapped(c: Context<AppEnv>, maxBytes: number): Promise<string | null> {
  const declared = requestHeader(c, 'content-length')
  if (declared !== undefined && Number(declared) > maxBytes) return null
  const stream = c.req.raw.body
  if (!stream) return ''
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  let read = 0
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    read += value.byteLength
    if (read > maxBytes) {
      // The rest is never buffered: the server drains or drops what is still coming.
      await reader.cancel().catch(() => {})
      return null
    }
    text += decoder.decode(value, { stream: true })
  }
}
