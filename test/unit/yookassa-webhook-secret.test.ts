import { describe, expect, it } from 'vitest'
import { checkWebhookSecret, signWebhookBody } from '../../src/payments/webhook-secret.ts'

const body = '{"type":"notification","event":"payment.succeeded","object":{"id":"p1"}}'
const secret = 's3cret-value'

describe('webhook secret', () => {
  it('is not required when no secret is configured', () => {
    const r = checkWebhookSecret({
      secret: undefined,
      querySecret: undefined,
      signatureHeader: undefined,
      rawBody: body,
    })
    expect(r).toBe('not_required')
  })

  it('accepts the ?secret= form and a hex HMAC-SHA256 of the raw body', () => {
    expect(
      checkWebhookSecret({
        secret,
        querySecret: secret,
        signatureHeader: undefined,
        rawBody: body,
      }),
    ).toBe('ok')
    const signature = signWebhookBody(secret, body)
    expect(signature).toMatch(/^[0-9a-f]{64}$/)
    expect(
      checkWebhookSecret({
        secret,
        querySecret: undefined,
        signatureHeader: signature.toUpperCase(),
        rawBody: body,
      }),
    ).toBe('ok')
  })

  it('tells a missing secret from a wrong one', () => {
    expect(
      checkWebhookSecret({
        secret,
        querySecret: undefined,
        signatureHeader: undefined,
        rawBody: body,
      }),
    ).toBe('missing')
    expect(
      checkWebhookSecret({
        secret,
        querySecret: 'guess',
        signatureHeader: undefined,
        rawBody: body,
      }),
    ).toBe('wrong')
    expect(
      checkWebhookSecret({
        secret,
        querySecret: `${secret}x`,
        signatureHeader: undefined,
        rawBody: body,
      }),
    ).toBe('wrong')
    // A signature of another body (or made with another key) does not pass.
    const other = signWebhookBody(secret, `${body} `)
    expect(
      checkWebhookSecret({ secret, querySecret: undefined, signatureHeader: other, rawBody: body }),
    ).toBe('wrong')
    expect(
      checkWebhookSecret({
        secret,
        querySecret: undefined,
        signatureHeader: signWebhookBody('x', body),
        rawBody: body,
      }),
    ).toBe('wrong')
  })
})
