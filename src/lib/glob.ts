/** `*`-only glob, no regex compiled per call: the pattern splits into literal parts matched in order. */
export function globMatch(pattern: string, name: string): boolean {
  return compileGlob(pattern)(name)
}

/**
 * globMatch with the pattern split once: for patterns from config, matched on every
 * request (model access, weights, upstream routing).
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  const star = pattern.indexOf('*')
  if (star === -1) return (name) => pattern === name
  const parts = pattern.split('*')
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  const middle = parts.slice(1, -1)
  return (name) => {
    if (name.length < first.length + last.length) return false
    if (!name.startsWith(first) || !name.endsWith(last)) return false
    let at = first.length
    const end = name.length - last.length
    for (const part of middle) {
      const found = name.indexOf(part, at)
      if (found === -1 || found + part.length > end) return false
      at = found + part.length
    }
    return true
  }
}
