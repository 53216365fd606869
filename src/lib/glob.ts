/**
 * Model name patterns (docs/access.md, "Patterns"):
 *
 * - `*` matches a run of characters within one part of a name: never `/`, `:`
 *   or `@`, and never a second `.` right after a `.`. So `gpt-3.5-*` matches
 *   `gpt-3.5-turbo-0125` but not `gpt-3.5-turbo/../gpt-4o`, `gpt-3.5-turbo:gpt-4o`
 *   or `gpt-3.5-turbo@x`: those separators mean something to an upstream that
 *   routes by path or by provider, and the name is sent upstream as it is.
 * - `**` matches any run of characters, separators included (`openai/**`, `ft:**`).
 * - `#` matches one ASCII digit: `gpt-4o-20##-##-##` is a dated snapshot and
 *   never `gpt-4o-2099-search`.
 * - Every other character matches itself (a `/` or `:` written in the pattern
 *   matches that separator).
 */
export function globMatch(pattern: string, name: string): boolean {
  return compileGlob(pattern)(name)
}

/** A literal character, `#`, `*` (a run without separators) or `**` (any run). */
interface Token {
  kind: 'char' | 'digit' | 'part' | 'any'
  char: string
}

/** Characters a `*` never matches: they separate a provider, a path, a version or an account. */
const SEPARATORS = new Set(['/', ':', '@'])

/**
 * globMatch with the pattern compiled once: for patterns from config, matched on every
 * request (model access, weights, upstream routing, metrics labels). A pattern without
 * wildcards is a string comparison; one with wildcards runs a set of positions over the
 * name once, so matching costs at most pattern length x name length steps, whatever
 * the pattern (no backtracking: a name of 256 characters cannot make it slow).
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  if (!/[*#]/.test(pattern)) return (name) => pattern === name
  const tokens = tokenize(pattern)
  // Most names fail on the literal start, or on the length of a pattern without `*`: no walk.
  const prefix = pattern.slice(0, pattern.search(/[*#]/))
  const fixedLength = pattern.includes('*') ? -1 : pattern.length
  return (name) =>
    name.startsWith(prefix) &&
    (fixedLength === -1 || name.length === fixedLength) &&
    matchTokens(tokens, name)
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = []
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === '*' && pattern[i + 1] === '*') {
      while (pattern[i + 1] === '*') i++
      tokens.push({ kind: 'any', char })
    } else if (char === '*') tokens.push({ kind: 'part', char })
    else if (char === '#') tokens.push({ kind: 'digit', char })
    else tokens.push({ kind: 'char', char })
  }
  return tokens
}

/** `live[i]`: the name read so far can be matched by the pattern's first i tokens. */
function matchTokens(tokens: readonly Token[], name: string): boolean {
  const end = tokens.length
  let live = new Uint8Array(end + 1)
  let next = new Uint8Array(end + 1)
  live[0] = 1
  skipWildcards(tokens, live)
  for (let at = 0; at < name.length; at++) {
    const char = name[at]!
    // A `*` stops at a separator and at the second dot of `..`.
    const partMay = !SEPARATORS.has(char) && !(char === '.' && name[at - 1] === '.')
    let any = false
    next.fill(0)
    for (let i = 0; i < end; i++) {
      if (!live[i]) continue
      const token = tokens[i]!
      if (token.kind === 'any' || (token.kind === 'part' && partMay)) next[i] = 1
      else if (token.kind === 'char' ? token.char === char : isDigit(token, char)) next[i + 1] = 1
      else continue
      any = true
    }
    if (!any) return false
    skipWildcards(tokens, next)
    ;[live, next] = [next, live]
  }
  return live[end] === 1
}

function isDigit(token: Token, char: string): boolean {
  return token.kind === 'digit' && char >= '0' && char <= '9'
}

/** A wildcard may match nothing: a position before one also stands after it. */
function skipWildcards(tokens: readonly Token[], live: Uint8Array) {
  for (let i = 0; i < tokens.length; i++) {
    const kind = tokens[i]!.kind
    if (live[i] && (kind === 'part' || kind === 'any')) live[i + 1] = 1
  }
}
