import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import type { AppEnv } from './env.ts'
import type { HeaderSource } from './header-source.ts'

/**
 * The request's headers, read straight from Node's rawHeaders. `c.req.header()` makes
 * @hono/node-server build a WHATWG Headers over the whole request (every name and
 * value validated and copied, a few microseconds a request); the proxy path reads
 * half a dozen headers, so it reads them through this instead. Same answers as that
 * Headers: names case-insensitive, a repeated header joined with ", " ("; " for
 * cookie), values trimmed of HTTP whitespace, HTTP/2 pseudo-headers left out.
 * Without a Node request (app.request() in tests) it is hono's own Headers.
 */
export function requestHeaders(c: Context<AppEnv>): HeaderSource {
  const cached = c.get('requestHeaders')
  if (cached) return cached
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming
  const headers = incoming ? headersFromRaw(incoming.rawHeaders) : c.req.raw.headers
  c.set('requestHeaders', headers)
  return headers
}

/** One request header, undefined when absent: `c.req.header(name)` without the Headers. */
export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  return requestHeaders(c).get(name) ?? undefined
}

/** Node's rawHeaders ([name, value, name, value, ...], names as sent) as Headers would read them. */
export function headersFromRaw(raw: readonly string[]): HeaderSource {
  const byName = new Map<string, string>()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (name.charCodeAt(0) === COLON) continue
    const value = trimHttpWhitespace(raw[i + 1]!)
    const earlier = byName.get(name)
    byName.set(
      name,
      earlier === undefined ? value : earlier + (name === 'cookie' ? '; ' : ', ') + value,
    )
  }
  return new RawHeaders(byName)
}

class RawHeaders implements HeaderSource {
  readonly #byName: ReadonlyMap<string, string>
  constructor(byName: ReadonlyMap<string, string>) {
    this.#byName = byName
  }
  get(name: string): string | null {
    return this.#byName.get(name.toLowerCase()) ?? null
  }
}

const COLON = 0x3a

function isHttpWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d
}

/** Fetch's header value normalization: leading and trailing HTTP whitespace only (not String#trim's). */
function trimHttpWhitespace(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}
