/*
 * Byte helpers shared by the readers of an SSE body (the line framer, the
 * usage reader, the stored-id reader): line breaks, JSON keys and values
 * found by byte search, and cutting ranges out of a buffer in place. They
 * read bytes, never decode: a stream is only turned into text where a line
 * must be parsed.
 *
 * SSE lines end in LF, CRLF or a lone CR (the SSE spec allows all three).
 * A CR that is the last byte received may be the first half of a CRLF, so
 * lastBreak does not take it as a break until the next byte arrives (or the
 * body ends).
 */

export const NL = 0x0a
export const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const COLON = 0x3a
const BACKSLASH = 0x5c
export const EMPTY = Buffer.alloc(0)

/** Index of the last complete line break in data (a CR as the last byte is not yet one), or -1. */
export function lastBreak(data: Buffer): number {
  const nl = data.lastIndexOf(NL)
  let cr = data.lastIndexOf(CR)
  if (cr === data.length - 1) cr = cr > 0 ? data.lastIndexOf(CR, cr - 1) : -1
  return Math.max(nl, cr)
}

/** Index of the first LF or CR at or after `from`, or -1 (a CRLF reads as a line and an empty one). */
export function firstBreak(data: Buffer, from: number): number {
  const nl = data.indexOf(NL, from)
  const cr = data.indexOf(CR, from)
  return nl === -1 ? cr : cr === -1 ? nl : Math.min(nl, cr)
}

/** Where the line holding data[at] starts: just after the last break before it, or 0. */
export function lineStart(data: Buffer, at: number): number {
  return Math.max(data.lastIndexOf(NL, at), data.lastIndexOf(CR, at)) + 1
}

/** Where the line holding data[from] ends within data[0..end): its first break, or end. */
export function lineEnd(data: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (data[i] === NL || data[i] === CR) return i
  return end
}

/** Length of the line break (LF, CRLF or CR) at `at` within data[0..end), 0 when there is none. */
export function breakLength(data: Buffer, at: number, end: number): number {
  if (at >= end) return 0
  if (data[at] === NL) return 1
  if (data[at] !== CR) return 0
  return at + 1 < end && data[at + 1] === NL ? 2 : 1
}

/** Whether data[at] is a quote that opens a key: not escaped (`\"usage"` ends a string, it starts no key). */
export function isKeyQuote(data: Buffer, at: number): boolean {
  if (at < 0 || data[at] !== QUOTE) return false
  let slashes = 0
  while (at - 1 - slashes >= 0 && data[at - 1 - slashes] === BACKSLASH) slashes++
  return slashes % 2 === 0
}

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09

/** After a key: optional spaces, a colon, optional spaces; the value's index, or `end` when there is no colon. */
export function valueStart(data: Buffer, from: number, end: number): number {
  let i = from
  while (i < end && isBlank(data[i])) i++
  if (i >= end || data[i] !== COLON) return end
  i++
  while (i < end && isBlank(data[i])) i++
  return i
}

export const NULL_LENGTH = 4

/** Whether `null` stands at data[at] (bytes compared here: Buffer.compare's checks cost more than the compare). */
export function isNull(data: Buffer, at: number, end: number): boolean {
  return (
    at + NULL_LENGTH <= end &&
    data[at] === 0x6e &&
    data[at + 1] === 0x75 &&
    data[at + 2] === 0x6c &&
    data[at + 3] === 0x6c
  )
}

/**
 * The [start, end) of a `"key": null` member with one of its commas, so that
 * what remains is the same JSON object without that key: `,"key":null` when it
 * follows another member, else `"key":null,` (or the member alone).
 */
export function nullMemberRange(
  data: Buffer,
  key: number,
  valueEnd: number,
  end: number,
): [number, number] {
  let before = key - 1
  while (before > 0 && isBlank(data[before])) before--
  if (data[before] === COMMA) return [before, valueEnd]
  let after = valueEnd
  while (after < end && isBlank(data[after])) after++
  if (data[after] === COMMA) {
    after++
    while (after < end && isBlank(data[after])) after++
    return [key, after]
  }
  return [key, valueEnd]
}

/**
 * data without the given ascending, non-overlapping [start, end) ranges,
 * compacted in place: the cut bytes are a few per event (`,"usage":null` is
 * 13), and a copy of each chunk (Buffer.concat) doubled the meter's cost per
 * chunk (copyWithin, a V8 builtin: Buffer.copy's argument checks cost more
 * than the move). The caller owns data and nothing reads it afterwards.
 */
export function cut(data: Buffer, ranges: Array<[number, number]>): Buffer {
  let write = 0
  let at = 0
  for (const [start, end] of ranges) {
    if (start > at) {
      if (write !== at) data.copyWithin(write, at, start)
      write += start - at
    }
    at = Math.max(at, end)
  }
  if (at < data.length) {
    if (write !== at) data.copyWithin(write, at)
    write += data.length - at
  }
  return data.subarray(0, write)
}
