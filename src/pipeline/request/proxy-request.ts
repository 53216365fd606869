import type { HttpBindings } from '@hono/node-server'
import type { Principal } from '../../auth/principal.ts'
import type { HeaderSource } from '../../http/header-source.ts'
import type { Endpoint } from './endpoint.ts'
import type { ParsedRequest } from './parse.ts'

/**
 * The one value a proxied request is, built at the entry (proxy.ts, from hono's Context) and
 * handed from stage to stage: no stage reads the Context. Each stage takes what it reads of
 * this value and the collaborators it calls (pipeline-deps.ts), and returns a value of its own.
 */

/** Which proxied endpoint, and how it goes upstream: given by the route file. */
export interface ProxyRoute {
  endpoint: Endpoint
  /** Path under the upstream's base URL, e.g. "/chat/completions". */
  path: string
  /** Force stream_options.include_usage on streams (Chat Completions and Completions; not Responses). */
  injectUsage: boolean
}

/**
 * The client's connection, for the stages that read the body or write the answer. On a real
 * socket the Node request and response, used directly: @hono/node-server's lightweight
 * Request builds a real undici Request over Readable.toWeb(incoming) as soon as its body or
 * its signal is touched (docs/reference/ARCHITECTURE.md measured that cost). Under
 * app.request() (tests) there is no socket: the Web Request serves instead.
 */
export interface ClientConnection {
  /** undefined under app.request(). */
  node: HttpBindings | undefined
  /** The Request the body limit middleware already wrapped: only read without a socket. */
  web: Request
}

/** A request to the /v1 surface as the stages see it, before its body is read. */
export interface ClientRequest {
  requestId: string
  /**
   * Who the credentials name, as authenticated (src/http/middleware/authenticate.ts): a
   * service key that named its end user in a header is that user already; one leaving the
   * user to the body is still the key, until the body is read (ReadRequest.user).
   */
  caller: Principal
  /** The request's headers, read once (src/http/request-headers.ts). */
  headers: HeaderSource
  /** The query string as received, with its "?", or "": it goes upstream unchanged. */
  query: string
  connection: ClientConnection
}

/** A proxied call at the entry: the request and its route. */
export interface ProxyRequest extends ClientRequest {
  route: ProxyRoute
}

/** A proxied call once its body is read and parsed: the acting user is decided, once, here. */
export interface ReadRequest extends ProxyRequest {
  parsed: ParsedRequest
  /** Whom the request is for and billed to: the caller, or the end user a service key's body names. */
  user: Principal
}

/** One request header, undefined when absent. */
export function headerOf(
  request: Pick<ClientRequest, 'headers'>,
  name: string,
): string | undefined {
  return request.headers.get(name) ?? undefined
}
