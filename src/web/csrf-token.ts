import { createHmac } from 'node:crypto'

/**
 * The page forms' CSRF token: what it is and the form field that carries it. Apart from the
 * check (csrf.ts) because the forms that write it (layout.tsx) and the 403 page the check
 * renders (pages/errors.tsx, which uses the layout) would otherwise import each other.
 */
export const CSRF_FIELD = '_csrf'

/**
 * A synchronizer token tied to the credential: HMAC of the session cookie (or of
 * the host application's JWT). Only the holder of the HttpOnly cookie and the
 * gateway can compute it, so a cross-site page cannot forge it, and nothing has
 * to be stored: a new session gets a new token, a signed-out one is worthless.
 */
export function csrfTokenFor(credential: string): string {
  return createHmac('sha256', 'gateway-pages-csrf').update(credential).digest('base64url')
}
