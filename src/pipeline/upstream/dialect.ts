import { GatewayError } from '../../http/errors.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { Upstream } from './upstreams.ts'

/**
 * A model is served in its upstream's own API: an Anthropic upstream's models
 * on /v1/messages only, an OpenAI-compatible upstream's on the OpenAI routes
 * only. The gateway translates nothing, so a request in the other dialect is
 * refused (400) before anything is reserved or sent.
 */
export function refuseOtherDialect(endpoint: Endpoint, upstream: Upstream, model: string) {
  const anthropic = upstream.config.kind === 'anthropic'
  if (anthropic === (endpoint === 'messages')) return
  const message = anthropic
    ? `The model '${model}' is served through Anthropic's Messages API: use POST /v1/messages`
    : `The model '${model}' is not served through Anthropic's Messages API on this gateway`
  throw new GatewayError('invalid_request', message, { param: 'model' })
}
