import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * YOOKASSA_WEBHOOK_SECRET is the gateway's own guard, not a YooKassa feature
 * (YooKassa signs nothing, docs/reference/yookassa.md 6.5). Two forms are accepted:
 * - `?secret=<secret>` in the URL configured in YooKassa's cabinet (the only
 *   form YooKassa itself can send);
 * - `X-Webhook-Signature: <hex HMAC-SHA256(secret, raw body)>` from a relay.
 * Comparisons are constant-time over fixed-length digests, so neither the
 * content nor the length of the secret leaks through timing.
 */
export type SecretCheck = 'ok' | 'missing' | 'wrong' | 'not_required'

export function checkWebhookSecret(input: {
  secret: string | undefined
  querySecret: string | undefined
  signatureHeader: string | undefined
  rawBody: Uint8Array | string
}): SecretCheck {
  const { secret, querySecret, signatureHeader, rawBody } = input
  if (!secret) return 'not_required'
  if (querySecret === undefined && signatureHeader === undefined) return 'missing'
  let ok = false
  if (querySecret !== undefined) ok = sameDigest(querySecret, secret)
  if (!ok && signatureHeader !== undefined) {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex')
    ok = sameDigest(signatureHeader.trim().toLowerCase(), expected)
  }
  return ok ? 'ok' : 'wrong'
}

/** Hex HMAC-SHA256 of a body: what a relay puts in X-Webhook-Signature. */
export function signWebhookBody(secret: string, rawBody: Uint8Array | string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex')
}

function sameDigest(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}
