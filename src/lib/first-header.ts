/** A request header by name (lower case), undefined when absent. */
export type HeaderReader = (name: string) => string | undefined

/** The value of the first of `names` the request carries (non-empty), else undefined. */
export function firstHeader(header: HeaderReader, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = header(name)
    if (value) return value
  }
  return undefined
}
