/**
 * What the request path reads of the request's headers: the part of `Headers` it uses.
 * Its own file because the Hono env (env.ts) holds one per request and the reader that
 * builds it (request-headers.ts) takes the env's Context.
 */
export interface HeaderSource {
  /** Case-insensitive; a repeated header's values joined as `Headers.get` joins them. */
  get(name: string): string | null
}
