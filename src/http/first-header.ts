import type { Context } from 'hono'

/** The value of the first of `names` the request carries (non-empty), else undefined. */
export function firstHeader(c: Context, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = c.req.header(name)
    if (value) return value
  }
  return undefined
}
