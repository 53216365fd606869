/** Control characters, whitespace and backslashes: browsers drop tabs and newlines and read `\` as `/`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\s\\]/
/** Any origin works as the base: only whether the target leaves it matters. */
const OWN_ORIGIN = 'http://gateway.invalid'

/**
 * Where a page may send the browser that a request named (`?next=`): a path of
 * this site, else `fallback`. The target is parsed as a browser would, against
 * this site's origin, and must stay on it; what it returns is the parsed URL's
 * path, query and fragment, so the Location is exactly what was checked. No
 * control character, whitespace or backslash (`/\t/host` is `//host` to a
 * browser), no scheme, no `//host`, and no path that only normalises to one
 * (`/.//host`).
 */
export function sameOriginPath(next: string | undefined, fallback: string): string {
  if (!next?.startsWith('/') || UNSAFE.test(next)) return fallback
  let url: URL
  try {
    url = new URL(next, OWN_ORIGIN)
  } catch {
    return fallback
  }
  if (url.origin !== OWN_ORIGIN || url.pathname.startsWith('//')) return fallback
  return `${url.pathname}${url.search}${url.hash}`
}
