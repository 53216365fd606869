/*
 * A deployment that serves a model under another name gets the body with its
 * name in place of the client's, every other byte as the client sent it (key
 * order, number spellings, whitespace). The body was parsed and checked before
 * (one top-level "model", a string, no key twice), so only the value's place
 * is looked for: one pass over the bytes up to it, about 1 ms per MB when the
 * client put it last, instead of parsing and writing the body again on the
 * event loop (an object of 300,000 keys: over a second).
 */
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

/** `raw` (a JSON object) with its top-level `model` set to `model`; added first when it has none. */
export function withModel(raw: Buffer, model: string): Buffer {
  const value = Buffer.from(JSON.stringify(model))
  const span = topLevelValue(raw, 'model')
  if (span) return Buffer.concat([raw.subarray(0, span.start), value, raw.subarray(span.end)])
  const brace = raw.indexOf(OPEN_OBJECT)
  let next = brace + 1
  while (next < raw.length && isSpace(raw[next]!)) next++
  const empty = raw[next] === CLOSE_OBJECT
  const field = Buffer.from(`"model":${value}${empty ? '' : ','}`)
  return Buffer.concat([raw.subarray(0, brace + 1), field, raw.subarray(brace + 1)])
}

/** Where the value of the top-level `key` lies in `raw`, or null when the object has no such key. */
function topLevelValue(raw: Buffer, key: string): { start: number; end: number } | null {
  let depth = 0
  let keyNext = false
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]
    if (byte === QUOTE) {
      const close = stringEnd(raw, i)
      if (depth === 1 && keyNext) {
        if (keyIs(raw, i, close, key)) {
          const start = valueStart(raw, close + 1)
          return { start, end: valueEnd(raw, start) }
        }
        keyNext = false
      }
      i = close
    } else if (byte === OPEN_OBJECT) {
      depth++
      if (depth === 1) keyNext = true
    } else if (byte === OPEN_ARRAY) depth++
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth--
    else if (byte === COMMA && depth === 1) keyNext = true
  }
  return null
}

/** The index of the quote that closes the string opened at `open`. */
function stringEnd(raw: Buffer, open: number): number {
  for (let i = open + 1; i < raw.length; i++) {
    if (raw[i] === BACKSLASH) i++
    else if (raw[i] === QUOTE) return i
  }
  return raw.length
}

/** Is the key between these quotes `key`? An escaped spelling ("mod\u0065l") is the same key. */
function keyIs(raw: Buffer, open: number, close: number, key: string): boolean {
  const text = raw.toString('utf8', open + 1, close)
  return text.includes('\\') ? JSON.parse(`"${text}"`) === key : text === key
}

/** The first byte of the value after a key: past the colon and any whitespace. */
function valueStart(raw: Buffer, from: number): number {
  let i = raw.indexOf(COLON, from) + 1
  while (i < raw.length && isSpace(raw[i]!)) i++
  return i
}

/** One past the last byte of the value that starts at `start`. */
function valueEnd(raw: Buffer, start: number): number {
  if (raw[start] === QUOTE) return stringEnd(raw, start) + 1
  let depth = 0
  for (let i = start; i < raw.length; i++) {
    const byte = raw[i]!
    if (byte === QUOTE) i = stringEnd(raw, i)
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (depth === 0) return i
      if (--depth === 0) return i + 1
    } else if (depth === 0 && (byte === COMMA || isSpace(byte))) return i
  }
  return raw.length
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
