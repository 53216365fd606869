import { type RawUsage, readUsage } from './usage.ts'

const NL = 0x0a
const CR = 0x0d
const OPEN_BRACE = 0x7b
const USAGE_KEY = '"usage"'
/** Delivered bytes kept for the tokenizer fallback; past this only the byte count grows. */
const RETAIN_LIMIT = 8 * 1024 * 1024

export interface SseMeterOptions {
  /** Remove the usage-only chunk (`"choices": []` + usage): the client did not ask for it. */
  dropUsageChunk: boolean
}

/**
 * A pass-through over an SSE body. Bytes go out as they arrive; lines are only
 * looked at when they carry a `"usage": {` object (a native byte search per
 * chunk, no decoding), and only those lines are parsed.
 *
 * When the usage chunk must be dropped, the bytes after a chunk's last newline
 * are held until their line is complete: that is the one case where the
 * output differs from the input, and only by the dropped event.
 */
export function createSseMeter({ dropUsageChunk }: SseMeterOptions) {
  let carry: Buffer | null = null
  let skipBlankLine = false
  let usage: RawUsage | null = null
  const delivered: Buffer[] = []
  let deliveredBytes = 0

  function retain(out: Buffer) {
    if (out.length === 0) return
    if (deliveredBytes < RETAIN_LIMIT) delivered.push(out)
    deliveredBytes += out.length
  }

  /** Scans the complete lines of data[0..end) for usage; returns the ranges of lines to drop. */
  function scan(data: Buffer, end: number): Array<[number, number]> | null {
    let drops: Array<[number, number]> | null = null
    let at = data.indexOf(USAGE_KEY)
    while (at !== -1 && at < end) {
      const lineStart = data.lastIndexOf(NL, at) + 1
      let lineEnd = data.indexOf(NL, at)
      if (lineEnd === -1 || lineEnd >= end) lineEnd = end
      if (isObjectValue(data, at + USAGE_KEY.length, lineEnd)) {
        const found = parseDataLine(data.toString('utf8', lineStart, lineEnd))
        if (found) {
          usage = found.usage
          if (dropUsageChunk && found.usageOnly) {
            drops ??= []
            drops.push([lineStart, lineEnd + 1])
          }
        }
      }
      at = data.indexOf(USAGE_KEY, lineEnd)
    }
    return drops
  }

  return {
    /** Feeds one upstream chunk; returns the bytes to send on (possibly empty). */
    push(chunk: Buffer): Buffer {
      const data = carry ? Buffer.concat([carry, chunk]) : chunk
      const lastNl = data.lastIndexOf(NL)
      carry = lastNl === data.length - 1 ? null : data.subarray(lastNl + 1)
      const drops = lastNl === -1 ? null : scan(data, lastNl + 1)
      if (!dropUsageChunk) {
        retain(chunk)
        return chunk
      }
      if (lastNl === -1) return EMPTY
      const region = data.subarray(0, lastNl + 1)
      const ranges: Array<[number, number]> = []
      if (skipBlankLine) {
        const blank = blankLineLength(region, 0)
        if (blank > 0) ranges.push([0, blank])
        skipBlankLine = false
      }
      for (const [start, end] of drops ?? []) {
        // The event's terminating blank line goes with it, now or at the start of the next chunk.
        if (end >= region.length) skipBlankLine = true
        ranges.push([start, end + blankLineLength(region, end)])
      }
      const out = ranges.length > 0 ? cut(region, ranges) : region
      retain(out)
      return out
    },
    /** Whatever is still held back, at the end of the upstream body. */
    end(): Buffer {
      const rest = dropUsageChunk && carry ? carry : EMPTY
      carry = null
      retain(rest)
      return rest
    },
    usage: () => usage,
    /** The SSE text delivered so far, for counting when the upstream gave no usage. */
    deliveredText: () => Buffer.concat(delivered).toString('utf8'),
  }
}

const EMPTY = Buffer.alloc(0)

/** After `"usage"`: optional spaces, a colon, optional spaces, then `{`? */
function isObjectValue(data: Buffer, from: number, end: number): boolean {
  let i = from
  while (i < end && (data[i] === 0x20 || data[i] === 0x09)) i++
  if (data[i] !== 0x3a) return false
  i++
  while (i < end && (data[i] === 0x20 || data[i] === 0x09)) i++
  return data[i] === OPEN_BRACE
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

/** Length of a blank line (`\n` or `\r\n`) at `at`, else 0: the event terminator after a dropped line. */
function blankLineLength(data: Buffer, at: number): number {
  if (data[at] === NL) return 1
  if (data[at] === CR && data[at + 1] === NL) return 2
  return 0
}

/** data without the given ascending, non-overlapping [start, end) ranges. */
function cut(data: Buffer, ranges: Array<[number, number]>): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (const [start, end] of ranges) {
    if (start > at) parts.push(data.subarray(at, start))
    at = Math.max(at, end)
  }
  if (at < data.length) parts.push(data.subarray(at))
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}
