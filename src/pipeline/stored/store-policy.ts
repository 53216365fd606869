import type { Config } from '../../config/schema.ts'
import { GatewayError } from '../../http/errors.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { ParsedRequest } from '../request/parse.ts'

const STORE_OFF = Buffer.from('"store":false,')

/**
 * storedObjects.store `off`: Responses and chat requests go with store:
 * false (spliced after the opening brace when absent, the other bytes kept),
 * and a request asking store: true is refused rather than silently changed.
 * Chat stores nothing unless asked, so only Responses needs the splice. A
 * large body had the policy applied where it was parsed (token-worker.ts).
 */
export function applyStorePolicy(
  store: Config['storedObjects']['store'],
  endpoint: Endpoint,
  request: ParsedRequest,
): ParsedRequest {
  if (store === 'forward' || request.offLoop) return request
  if (endpoint !== 'responses' && endpoint !== 'chat') return request
  const { body, raw } = request
  const asked = body.store
  if (asked === true) {
    throw new GatewayError(
      'invalid_request',
      'store: true is not available on this gateway (it keeps nothing in the upstream account): send store: false or leave it out',
      { param: 'store' },
    )
  }
  if (asked !== undefined && asked !== null && asked !== false) {
    throw new GatewayError('invalid_request', 'store must be a boolean', { param: 'store' })
  }
  if (endpoint === 'chat' || asked === false) return request
  const stored = { ...body, store: false }
  if (asked === null) return { ...request, raw: Buffer.from(JSON.stringify(stored)), body: stored }
  const brace = raw.indexOf(0x7b)
  const spliced = Buffer.concat([raw.subarray(0, brace + 1), STORE_OFF, raw.subarray(brace + 1)])
  return { ...request, raw: spliced, body: stored }
}
