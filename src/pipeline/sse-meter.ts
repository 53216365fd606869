import { DELIVERED_LIMITS, type DeliveredLimits, DeliveredOutput } from './delivered-output.ts'
import type { TokenCounter } from './tokenizer.ts'
import { type RawUsage, readUsage } from './usage.ts'

const NL = 0x0a
const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
/*
 * The keys are searched without their opening quote, which is checked after a
 * hit: Node's Buffer.indexOf stops at every occurrence of a needle's first
 * byte, and JSON is full of quotes. `"usage"` took 5 us on a 4 KB chunk,
 * `usage"` 0.36 us (Node 20): it was the meter's largest cost.
 */
const USAGE_TAIL = Buffer.from('usage"')
const SEQUENCE_TAIL = Buffer.from('sequence_number"')
const NULL_LENGTH = 4
const EMPTY = Buffer.alloc(0)
/**
 * The longest line held to be read whole. A longer one (a broken or hostile
 * upstream: an event that never ends) is passed on unread up to its end, so a
 * stream's memory stays bounded; a usage in it is missed, and the stream is
 * billed by counting its text, as a stream without usage is.
 */
export const LINE_LIMIT = 8 * 1024 * 1024

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
  /** The model's tokenizer: the delivered output is counted with it as it goes (deliveredTokens). */
  countTokens: TokenCounter
  /** How much delivered output is held before it is counted (tests make it small). */
  deliveredLimits?: DeliveredLimits
}

export function createSseMeter(options: SseMeterOptions): SseMeter {
  const delivered = new DeliveredOutput(
    options.countTokens,
    options.deliveredLimits ?? DELIVERED_LIMITS,
  )
  return new SseMeter(options.dropUsageChunk, options.trackSequence ?? false, delivered)
}

/** A range of bytes to cut; a whole line takes its event's blank line with it. */
type Cut = [start: number, end: number, wholeLine: boolean]

/**
 * A pass-through over an SSE body. Bytes go out as they arrive; a line is only
 * looked at when a byte search finds a `"usage": {` in it, and only such
 * lines are parsed (once a stream, usually). What the client was sent is
 * counted by the delivered-output counter (delivered-output.ts), which reads
 * it only once it outgrows a small window, or when a bill needs it.
 *
 * The bytes after a chunk's last line break are held until their line is
 * complete (a key may be cut anywhere); only when the usage chunk must be
 * dropped does that delay the output, and the output differs from the input
 * only by the dropped event and the `"usage":null` members.
 *
 * A class, not a closure: tsx (esbuild's keepNames) names every inner
 * function on every call, which cost more per stream than the meter's search.
 */
export class SseMeter {
  readonly #drop: boolean
  readonly #trackSequence: boolean
  /** The bytes after the last line break, not yet complete (kept as received: no copy until the break). */
  #held: Buffer[] = []
  #heldBytes = 0
  /** The held line outgrew LINE_LIMIT: what follows passes unread until the next line break. */
  #skipping = false
  #skipBlankLine = false
  #usage: RawUsage | null = null
  #lastSequence: number | null = null
  readonly #delivered: DeliveredOutput

  constructor(dropUsageChunk: boolean, trackSequence: boolean, delivered: DeliveredOutput) {
    this.#drop = dropUsageChunk
    this.#trackSequence = trackSequence
    this.#delivered = delivered
  }

  /**
   * Feeds one upstream chunk; returns the bytes to send on (the chunk itself unless dropping;
   * possibly empty). The chunk is the meter's from then on: dropping cuts bytes out of it in place.
   */
  push(chunk: Buffer): Buffer {
    if (!this.#drop) {
      this.#retain(chunk)
      this.#take(chunk)
      return chunk
    }
    const out = this.#take(chunk)
    this.#retain(out)
    return out
  }

  /** Whatever is still held back, at the end of the upstream body (a last line without a break included). */
  end(): Buffer {
    if (this.#heldBytes === 0) return EMPTY
    const rest = this.#release()
    const out = this.#emit(rest, rest.length)
    this.#retain(out)
    return out
  }

  usage(): RawUsage | null {
    return this.#usage
  }

  /** The last sequence_number the upstream sent (trackSequence), null before the first. */
  lastSequence(): number | null {
    return this.#lastSequence
  }

  /**
   * The output tokens delivered (text by the tokenizer, audio by its length), for billing
   * when the upstream gave no usage or the stream was cut. Reads what is left once: call it
   * when the stream is over.
   */
  deliveredTokens(): number {
    return this.#delivered.tokens()
  }

  /** What the delivered-output counter holds now (bounded, however long the stream). */
  deliveredRetained(): number {
    return this.#delivered.retained()
  }

  #retain(out: Buffer) {
    this.#delivered.add(out)
  }

  /** Meters a chunk; returns the bytes to send on when dropping (else EMPTY, the caller sends the chunk). */
  #take(chunk: Buffer): Buffer {
    if (chunk.length === 0) return EMPTY
    if (this.#skipping) return this.#skipLine(chunk)
    let data = chunk
    if (this.#heldBytes > 0) {
      // No break in this chunk (and no CR held that this chunk may confirm): the line goes on.
      if (lastBreak(chunk) === -1 && this.#held.at(-1)!.at(-1) !== CR) return this.#hold(chunk)
      this.#held.push(chunk)
      data = this.#release()
    }
    const last = lastBreak(data)
    if (last === -1) return this.#hold(data)
    const end = last + 1
    if (end === data.length) return this.#emit(data, end)
    const tail = data.subarray(end)
    const out = this.#emit(data, end)
    const overflow = this.#hold(tail)
    return overflow.length === 0 ? out : Buffer.concat([out, overflow])
  }

  /** Holds the start of a line; past LINE_LIMIT lets it go (returned when dropping). */
  #hold(bytes: Buffer): Buffer {
    this.#held.push(bytes)
    this.#heldBytes += bytes.length
    if (this.#heldBytes <= LINE_LIMIT) return EMPTY
    this.#skipping = true
    // The held bytes hold no line break, so no blank line follows a dropped event here.
    this.#skipBlankLine = false
    const held = this.#release()
    return this.#drop ? held : EMPTY
  }

  #release(): Buffer {
    const held = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held)
    this.#held = []
    this.#heldBytes = 0
    return held
  }

  /** Passes on the rest of an overlong line, unread; what follows its end is metered again. */
  #skipLine(chunk: Buffer): Buffer {
    const nl = chunk.indexOf(NL)
    const cr = chunk.indexOf(CR)
    const first = nl === -1 ? cr : cr === -1 ? nl : Math.min(nl, cr)
    if (first === -1) return this.#drop ? chunk : EMPTY
    this.#skipping = false
    const rest = this.#take(chunk.subarray(first + 1))
    if (!this.#drop) return EMPTY
    const line = chunk.subarray(0, first + 1)
    return rest.length === 0 ? line : Buffer.concat([line, rest])
  }

  /**
   * Meters the complete lines of data[0..end); returns the bytes of them to
   * send on when dropping, else EMPTY.
   */
  #emit(data: Buffer, end: number): Buffer {
    const drops = this.#scan(data, end)
    if (this.#trackSequence) this.#readSequence(data, end)
    if (!this.#drop) return EMPTY
    const region = end === data.length ? data : data.subarray(0, end)
    if (drops === null && !this.#skipBlankLine) return region
    const ranges: Array<[number, number]> = []
    if (this.#skipBlankLine) {
      const blank = breakLength(region, 0, region.length)
      if (blank > 0) ranges.push([0, blank])
      this.#skipBlankLine = false
    }
    for (const [start, stop, wholeLine] of drops ?? []) {
      if (!wholeLine) {
        ranges.push([start, stop])
        continue
      }
      // The event's terminating blank line goes with it, now or at the start of the next chunk.
      if (stop >= region.length) this.#skipBlankLine = true
      ranges.push([start, stop + breakLength(region, stop, region.length)])
    }
    return ranges.length > 0 ? cut(region, ranges) : region
  }

  /**
   * Finds the usage in the complete lines of data[0..end); returns what to cut
   * when dropping: usage-only lines, and `"usage":null` members (a few bytes
   * cut, never a re-serialisation).
   */
  #scan(data: Buffer, end: number): Cut[] | null {
    let cuts: Cut[] | null = null
    let at = data.indexOf(USAGE_TAIL)
    while (at !== -1 && at < end) {
      const key = at - 1
      const value = isKeyQuote(data, key) ? valueStart(data, at + USAGE_TAIL.length, end) : end
      let next = at + USAGE_TAIL.length
      if (value < end && data[value] === OPEN_BRACE) {
        const lineStart = Math.max(data.lastIndexOf(NL, key), data.lastIndexOf(CR, key)) + 1
        const lineEnd = nextBreak(data, value, end)
        const found = parseDataLine(data.toString('utf8', lineStart, lineEnd))
        if (found) {
          this.#usage = found.usage
          if (this.#drop && found.usageOnly) {
            cuts ??= []
            cuts.push([lineStart, lineEnd + breakLength(data, lineEnd, end), true])
          }
        }
        // The line was read whole: its other keys, if any, are its own business.
        next = lineEnd
      } else if (this.#drop && isNull(data, value, end)) {
        cuts ??= []
        cuts.push(nullKeyRange(data, key, value + NULL_LENGTH, end))
        next = value + NULL_LENGTH
      }
      at = data.indexOf(USAGE_TAIL, next)
    }
    return cuts
  }

  /** The last `"sequence_number": N` in data[0..end), if any. */
  #readSequence(data: Buffer, end: number) {
    let at = data.lastIndexOf(SEQUENCE_TAIL, end - 1)
    while (at > 0) {
      // A hit that is no key (`\"sequence_number"` ending a string): look further back.
      let i = isKeyQuote(data, at - 1) ? valueStart(data, at + SEQUENCE_TAIL.length, end) : end
      let n = 0
      let digits = 0
      for (; i < end && data[i]! >= 0x30 && data[i]! <= 0x39; i++, digits++)
        n = n * 10 + data[i]! - 0x30
      if (digits > 0) {
        this.#lastSequence = n
        return
      }
      at = data.lastIndexOf(SEQUENCE_TAIL, at - 1)
    }
  }
}

/** A quote that opens a key: not escaped (`\"usage"` ends a string, it starts no key). */
function isKeyQuote(data: Buffer, at: number): boolean {
  if (at < 0 || data[at] !== QUOTE) return false
  let slashes = 0
  while (at - 1 - slashes >= 0 && data[at - 1 - slashes] === BACKSLASH) slashes++
  return slashes % 2 === 0
}

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09

/** After a key: optional spaces, a colon, optional spaces; the value's index, or `end` when there is no colon. */
function valueStart(data: Buffer, from: number, end: number): number {
  let i = from
  while (i < end && isBlank(data[i])) i++
  if (i >= end || data[i] !== 0x3a) return end
  i++
  while (i < end && isBlank(data[i])) i++
  return i
}

/** `null` at data[at] (bytes compared here: Buffer.compare's checks cost more than the compare). */
function isNull(data: Buffer, at: number, end: number): boolean {
  return (
    at + 4 <= end &&
    data[at] === 0x6e &&
    data[at + 1] === 0x75 &&
    data[at + 2] === 0x6c &&
    data[at + 3] === 0x6c
  )
}

/**
 * The bytes of a `"usage": null` member with one of its commas, so that what
 * remains is the same JSON object without that key: `,"usage":null` when it
 * follows another member (OpenAI puts it last), else `"usage":null,`.
 */
function nullKeyRange(data: Buffer, key: number, valueEnd: number, end: number): Cut {
  let before = key - 1
  while (before > 0 && isBlank(data[before])) before--
  if (data[before] === COMMA) return [before, valueEnd, false]
  let after = valueEnd
  while (after < end && isBlank(data[after])) after++
  if (data[after] === COMMA) {
    after++
    while (after < end && isBlank(data[after])) after++
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
 * and a copy of each chunk (Buffer.concat) doubled the meter's cost per chunk
 * (copyWithin, a V8 builtin: Buffer.copy's argument checks cost more than the move).
 * The buffer is the meter's own (undici hands each body chunk over, or it is
 * the concatenation with the held bytes), and nothing reads it afterwards.
 */
function cut(data: Buffer, ranges: Array<[number, number]>): Buffer {
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
