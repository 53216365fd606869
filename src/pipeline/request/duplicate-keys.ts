/**
 * JSON.parse keeps the last of two equal keys; other parsers keep the first.
 * A body with `"model"` twice would be checked under one name and served
 * upstream under the other, so a body with a key twice in any object is
 * refused. The gateway forwards the client's bytes (parse.ts), so this is
 * about what the upstream reads, not about what the gateway parsed.
 *
 * Cost: the precise scan walks the text in JavaScript (about 2x JSON.parse),
 * so a cheap count runs first. In valid JSON an unescaped `"` followed by `:`
 * (whitespace between allowed) ends a key, or opens a string that starts with
 * a colon; their number is at least the number of keys in the text. When it
 * equals the number of keys JSON.parse kept, no key can have been dropped and
 * the precise scan is skipped (numbers in docs/access.md).
 */
export function findDuplicateKey(text: string, parsed: unknown): string | null {
  if (keyEnds(text) <= keysIn(parsed)) return null
  return scanForDuplicate(text)
}

const QUOTE = 0x22
const COLON = 0x3a
const BACKSLASH = 0x5c

function isSpace(code: number) {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09
}

/**
 * Colons whose previous non-space character is an unescaped quote. A
 * one-character indexOf is a native memchr (a 20 KB chat without colons in
 * its text: under 1 us); each colon found costs about 30 ns more.
 */
function keyEnds(text: string): number {
  let count = 0
  for (let at = text.indexOf(':'); at !== -1; at = text.indexOf(':', at + 1)) {
    let back = at - 1
    while (back >= 0 && isSpace(text.charCodeAt(back))) back--
    if (text.charCodeAt(back) === QUOTE && !isEscaped(text, back)) count++
  }
  return count
}

/** An odd run of backslashes before `at` escapes the character there. */
function isEscaped(text: string, at: number): boolean {
  let slashes = 0
  while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++
  return slashes % 2 === 1
}

/** Keys of every object in the parsed value (an explicit stack: nesting depth is the client's). */
function keysIn(value: unknown): number {
  let count = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null) continue
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object' && item !== null) stack.push(item)
      continue
    }
    for (const key in node) {
      count++
      const item = (node as Record<string, unknown>)[key]
      if (typeof item === 'object' && item !== null) stack.push(item)
    }
  }
  return count
}

/** The first key found twice in one object of `text` (valid JSON), compared after unescaping. */
function scanForDuplicate(text: string): string | null {
  // One entry per open object (its keys so far) or array (null).
  const open: Array<Set<string> | null> = []
  const length = text.length
  let i = 0
  while (i < length) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) {
      const end = closingQuote(text, i + 1)
      let next = end + 1
      while (next < length && isSpace(text.charCodeAt(next))) next++
      const keys = open[open.length - 1]
      if (keys && text.charCodeAt(next) === COLON) {
        const raw = text.slice(i + 1, end)
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
        if (keys.has(key)) return key
        keys.add(key)
      }
      i = end + 1
      continue
    }
    if (code === 0x7b) open.push(new Set())
    else if (code === 0x5b) open.push(null)
    else if (code === 0x7d || code === 0x5d) open.pop()
    i++
  }
  return null
}

/** Index of the quote that ends the string whose content starts at `from`. */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at !== -1; at = text.indexOf('"', at + 1)) {
    if (!isEscaped(text, at)) return at
  }
  return text.length
}
