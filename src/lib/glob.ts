/** `*`-only glob, no regex compiled per call: the pattern splits into literal parts matched in order. */
export function globMatch(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*')
  if (star === -1) return pattern === name
  const parts = pattern.split('*')
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (name.length < first.length + last.length) return false
  if (!name.startsWith(first) || !name.endsWith(last)) return false
  let at = first.length
  const end = name.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!
    const found = name.indexOf(part, at)
    if (found === -1 || found + part.length > end) return false
    at = found + part.length
  }
  return true
}
