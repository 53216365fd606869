import type { Config } from '../config/schema.ts'
import { DomainError } from '../lib/errors.ts'

/** YooKassa takes return_url up to 2048 characters (docs/reference/yookassa.md 2.1), after normalisation too. */
const MAX_LENGTH = 2048
/** Hosts where plain http: is fine: the payer's own machine, during development. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])
/** Control characters, whitespace and backslashes: URL parsers disagree on them (CRLF, `\\` as `/`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\s\\]/

/**
 * No open redirects, and YooKassa gets exactly what was checked: the return
 * URL must be absolute `https:` (`http:` only for localhost, 127.0.0.1, [::1])
 * on a host of BILLING_RETURN_HOSTS (else PUBLIC_URL's host), carry no
 * user:password@, and hold no whitespace, control character or backslash.
 * An allow-list entry without a port allows the scheme's default port only;
 * `host:8443` allows that port. Returns the normalised href (new URL().href).
 */
export function normalizeReturnUrl(config: Readonly<Config>, raw: string): string {
  const refuse = (why: string) =>
    new DomainError('invalid_request', `return_url ${why}`, { param: 'return_url' })
  if (UNSAFE.test(raw)) {
    throw refuse('must not contain whitespace, control characters or backslashes')
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw refuse('is not an absolute URL')
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw refuse('must use https: (http: only for localhost)')
  }
  if (url.username || url.password) throw refuse('must not carry a user name or password')
  if (!allowedHosts(config).has(url.host)) {
    throw refuse(`must point to an allowed host (BILLING_RETURN_HOSTS), not ${url.host}`)
  }
  if (url.href.length > MAX_LENGTH) throw refuse(`is longer than ${MAX_LENGTH} characters`)
  return url.href
}

/**
 * The allow-list in URL.host form (lowercase, punycode, default port dropped),
 * so an entry compares with the parsed URL's host as one string: `app.example`
 * matches https://app.example/ and https://app.example:443/ but not :8443.
 */
function allowedHosts(config: Readonly<Config>): Set<string> {
  const { returnHosts } = config.billing
  const entries = returnHosts.length
    ? returnHosts
    : config.server.publicUrl
      ? [new URL(config.server.publicUrl).host]
      : []
  const hosts = new Set<string>()
  for (const entry of entries) {
    try {
      hosts.add(new URL(`https://${entry.trim()}`).host)
    } catch {
      // An entry that is no host matches nothing.
    }
  }
  return hosts
}
