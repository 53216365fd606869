import { createHmac } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-gateway-signature'

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs its webhooks: the
 * timestamp inside the signed text lets a receiver refuse an old delivery replayed.
 */
export function signBody(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return `t=${timestamp},v1=${mac}`
}
