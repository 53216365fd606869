import { type RawUsage, readUsage } from './usage.ts'

const NL = 0x0a
const CR = 0x0d
const OPEN_BRACE = 0x7b
const USAGE_KEY = '"usage"'
/** Delivered bytes kept for the tokenizer fallback; past this only the byte count grows. */
const RETAIN_LIMIT = 8 * 1024 * 1024

export interface SseMeterOptions {
  /**
   * The gateway forced include_usage for a client that did not ask: remove the
   * usage-only chunk (`"choices": []` + usage) and the `"usage":null` key
   * OpenAI then puts on every other chunk, so the client sees what it would
   * have seen without include_usage.
   */
  dropUsageChunk: boolean
  /** Remember the last `"sequence_number"` seen (Responses API streams), for a final error event. */
  trackSequence?: boolean
}

/** A range of bytes to cut; a whole line takes its event's blank line with it. */
type Cut = [start: number, end: number, wholeLine: boolean]

/**
 * A pass-through over an SSE body. Bytes go out as they arrive; lines are only
 * looked at when they carry a `"usage": {` object (a native byte search per
 * chunk, no decoding), and only those lines are parsed.
 *
 * When the usage chunk must be dropped, the bytes after a chunk's last newline
 * are held until their line is complete: that is the one case where the
 * output differs from the input, and only by the dropped event and the
 * `"usage":null` members.
 */
export function createSseMeter({ dropUsageChunk, trackSequence = false }: SseMeterOptions) {
  let carry: Buffer | null = null
  let lastSequence: number | null = null
  let skipBlankLine = false
  let usage: RawUsage | null = null
  const delivered: Buffer[] = []
  let deliveredBytes = 0

  function retain(out: Buffer) {
    if (out.length === 0) return
    if (deliveredBytes < RETAIN_LIMIT) delivered.push(out)
    deliveredBytes += out.length
  }

  /**
   * Scans the complete lines of data[0..end) for usage; returns what to cut:
   * usage-only lines, and `"usage":null` keys (the cheap case: a byte search
   * the scan does anyway, then a few bytes cut, never a re-serialisation).
   */
  function scan(data: Buffer, end: number): Cut[] | null {
    let cuts: Cut[] | null = null
    let at = data.indexOf(USAGE_KEY)
    while (at !== -1 && at < end) {
      const lineStart = Math.max(data.lastIndexOf(NL, at), data.lastIndexOf(CR, at)) + 1
      const lineEnd = nextBreak(data, at, end)
      const value = valueStart(data, at + USAGE_KEY.length, lineEnd)
      if (value < lineEnd && data[value] === OPEN_BRACE) {
        const found = parseDataLine(data.toString('utf8', lineStart, lineEnd))
        if (found) {
          usage = found.usage
          if (dropUsageChunk && found.usageOnly) {
            cuts ??= []
            cuts.push([lineStart, lineEnd + breakLength(data, lineEnd, end), true])
          }
        }
      } else if (dropUsageChunk && isNull(data, value)) {
        cuts ??= []
        cuts.push(nullKeyRange(data, at, value + NULL.length, lineEnd))
      }
      at = data.indexOf(USAGE_KEY, lineEnd)
    }
    return cuts
  }

  /** The last `"sequence_number": N` in data[0..end), if any. */
  function readSequence(data: Buffer, end: number) {
    const at = data.lastIndexOf(SEQUENCE_KEY, end - 1)
    if (at === -1) return
    let i = valueStart(data, at + SEQUENCE_KEY.length, end)
    let n = 0
    let digits = 0
    for (; i < end && data[i]! >= 0x30 && data[i]! <= 0x39; i++, digits++)
      n = n * 10 + data[i]! - 0x30
    if (digits > 0) lastSequence = n
  }

  /**
   * Meters the complete lines of data[0..end); returns the bytes of them to
   * send on when the meter rewrites (dropUsageChunk), else EMPTY (the caller
   * sends the chunk itself, untouched).
   */
  function emit(data: Buffer, end: number): Buffer {
    const drops = scan(data, end)
    if (trackSequence) readSequence(data, end)
    if (!dropUsageChunk) return EMPTY
    const region = data.subarray(0, end)
    const ranges: Array<[number, number]> = []
    if (skipBlankLine) {
      const blank = breakLength(region, 0, region.length)
      if (blank > 0) ranges.push([0, blank])
      skipBlankLine = false
    }
    for (const [start, stop, wholeLine] of drops ?? []) {
      if (!wholeLine) {
        ranges.push([start, stop])
        continue
      }
      // The event's terminating blank line goes with it, now or at the start of the next chunk.
      if (stop >= region.length) skipBlankLine = true
      ranges.push([start, stop + breakLength(region, stop, region.length)])
    }
    const out = ranges.length > 0 ? cut(region, ranges) : region
    retain(out)
    return out
  }

  return {
    /** Feeds one upstream chunk; returns the bytes to send on (possibly empty). */
    push(chunk: Buffer): Buffer {
      const data = carry ? Buffer.concat([carry, chunk]) : chunk
      const last = lastBreak(data)
      carry = last === data.length - 1 ? null : data.subarray(last + 1)
      const out = last === -1 ? EMPTY : emit(data, last + 1)
      if (!dropUsageChunk) {
        retain(chunk)
        return chunk
      }
      return out
    },
    /** Whatever is still held back, at the end of the upstream body (a last line without a break included). */
    end(): Buffer {
      const rest = carry
      carry = null
      return rest ? emit(rest, rest.length) : EMPTY
    },
    usage: () => usage,
    /** The last sequence_number the upstream sent (trackSequence), null before the first. */
    lastSequence: () => lastSequence,
    /** The SSE text delivered so far, for counting when the upstream gave no usage. */
    deliveredText: () => Buffer.concat(delivered).toString('utf8'),
  }
}

const EMPTY = Buffer.alloc(0)
const SEQUENCE_KEY = '"sequence_number"'
const NULL = Buffer.from('null')
const COMMA = 0x2c

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09

/** After a key: optional spaces, a colon, optional spaces; the value's index, or `end` when there is no colon. */
function valueStart(data: Buffer, from: number, end: number): number {
  let i = from
  while (i < end && isBlank(data[i])) i++
  if (data[i] !== 0x3a) return end
  i++
  while (i < end && isBlank(data[i])) i++
  return i
}

function isNull(data: Buffer, at: number): boolean {
  return at + 4 <= data.length && data.compare(NULL, 0, 4, at, at + 4) === 0
}

/**
 * The bytes of a `"usage": null` member with one of its commas, so that what
 * remains is the same JSON object without that key: `,"usage":null` when it
 * follows another member (OpenAI puts it last), else `"usage":null,`.
 */
function nullKeyRange(data: Buffer, key: number, valueEnd: number, lineEnd: number): Cut {
  let before = key - 1
  while (before > 0 && isBlank(data[before])) before--
  if (data[before] === COMMA) return [before, valueEnd, false]
  let after = valueEnd
  while (after < lineEnd && isBlank(data[after])) after++
  if (data[after] === COMMA) {
    after++
    while (after < lineEnd && isBlank(data[after])) after++
    return [key, after, false]
  }
  return [key, valueEnd, false]
}

function parseDataLine(line: string): { usage: RawUsage; usageOnly: boolean } | null {
  if (!line.startsWith('data:')) return null
  try {
    const event = JSON.parse(line.slice(5)) as Record<string, unknown>
    const response = event.response as Record<string, unknown> | undefined
    const usage = readUsage(event.usage ?? response?.usage)
    if (!usage) return null
    return { usage, usageOnly: Array.isArray(event.choices) && event.choices.length === 0 }
  } catch {
    return null
  }
}

/*
 * SSE lines end in LF, CRLF or a lone CR (the SSE spec allows all three).
 * A CR that is the last byte received may be the first half of a CRLF, so it
 * is not taken as a break until the next byte arrives (or the body ends).
 */

/** Index of the last complete line break in data, or -1. */
function lastBreak(data: Buffer): number {
  const nl = data.lastIndexOf(NL)
  let cr = data.lastIndexOf(CR)
  if (cr === data.length - 1) cr = cr > 0 ? data.lastIndexOf(CR, cr - 1) : -1
  return Math.max(nl, cr)
}

/** Index of the first line break at or after `from` in data[0..end), else end. */
function nextBreak(data: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (data[i] === NL || data[i] === CR) return i
  return end
}

/** Length of the line break (LF, CRLF or CR) at `at` within data[0..end), else 0. */
function breakLength(data: Buffer, at: number, end: number): number {
  if (at >= end) return 0
  if (data[at] === NL) return 1
  if (data[at] !== CR) return 0
  return at + 1 < end && data[at + 1] === NL ? 2 : 1
}

/**
 * data without the given ascending, non-overlapping [start, end) ranges,
 * compacted in place: the cut bytes are a few per event (`,"usage":null` is 13),
 * and a copy of each chunk (Buffer.concat) doubled the meter's cost per chunk.
 * The buffer is the meter's own (undici hands each body chunk over, or it is
 * the concatenation with the held bytes), and nothing reads it afterwards.
 */
function cut(data: Buffer, ranges: Array<[number, number]>): Buffer {
  let write = 0
  let at = 0
  for (const [start, end] of ranges) {
    if (start > at) {
      if (write !== at) data.copy(data, write, at, start)
      write += start - at
    }
    at = Math.max(at, end)
  }
  if (at < data.length) {
    if (write !== at) data.copy(data, write, at)
    write += data.length - at
  }
  return data.subarray(0, write)
}
