import { AnthropicStreamUsage } from '../anthropic/usage.ts'
import { type RawUsage, readUsage } from '../settle/usage.ts'
import {
  breakLength,
  cut,
  isKeyQuote,
  isNull,
  lineEnd,
  lineStart,
  NULL_LENGTH,
  nullMemberRange,
  valueStart,
} from './sse-bytes.ts'

const OPEN_BRACE = 0x7b
/*
 * The keys are searched without their opening quote, which is checked after a
 * hit: Node's Buffer.indexOf stops at every occurrence of a needle's first
 * byte, and JSON is full of quotes. `"usage"` took 5 us on a 4 KB chunk,
 * `usage"` 0.36 us (Node 20): it was the meter's largest cost.
 */
const USAGE_TAIL = Buffer.from('usage"')
const SEQUENCE_TAIL = Buffer.from('sequence_number"')

/**
 * The usage reader and cutter: reads the complete lines the framer hands it
 * (sse-line-framer.ts) for the stream's usage, and, when the gateway asked for
 * usage on behalf of a client that did not, cuts what the client would not
 * have seen: the usage-only event (`"choices": []` + usage) and the
 * `"usage":null` member OpenAI then puts on every other chunk.
 *
 * A line is only looked at when a byte search finds a `"usage"` key in it,
 * and only a line whose usage is an object is parsed (once a stream,
 * usually). Cutting removes bytes, a few per event, and re-serialises nothing.
 */
export class SseUsageReader {
  readonly #cutUsage: boolean
  readonly #trackSequence: boolean
  #usage: RawUsage | null = null
  /** An Anthropic stream's usage, overlaid event by event (anthropic/usage.ts). */
  readonly #anthropic = new AnthropicStreamUsage()
  #lastSequence: number | null = null
  /** A cut event's line ended the last block: its blank line starts the next one, and goes too. */
  #blankLineNext = false
  /** The [start, end) ranges to cut out of the block being read. */
  #cuts: Array<[number, number]> = []

  /**
   * cutUsage: the gateway forced include_usage for a client that did not ask.
   * trackSequence: remember the last `"sequence_number"` (Responses streams), for a final error event.
   */
  constructor(cutUsage: boolean, trackSequence: boolean) {
    this.#cutUsage = cutUsage
    this.#trackSequence = trackSequence
  }

  /** The usage the upstream reported, null until it did. */
  usage(): RawUsage | null {
    return this.#usage
  }

  /** The last sequence_number the upstream sent (trackSequence), null before the first. */
  lastSequence(): number | null {
    return this.#lastSequence
  }

  /**
   * Reads a block of complete lines; returns its bytes to send on: the block
   * itself, or, when cutting, the block compacted in place without the cuts.
   */
  read(block: Buffer): Buffer {
    if (this.#blankLineNext) {
      this.#blankLineNext = false
      const blank = breakLength(block, 0, block.length)
      if (blank > 0) this.#cuts.push([0, blank])
    }
    this.#findUsage(block)
    if (this.#trackSequence) this.#readSequence(block)
    if (this.#cuts.length === 0) return block
    const kept = cut(block, this.#cuts)
    // A new array, not `length = 0`: V8 shrinks an array's length in a runtime call.
    this.#cuts = []
    return kept
  }

  /** A line passed unread (too long): whatever follows, it is not a cut event's blank line. */
  lineSkipped() {
    this.#blankLineNext = false
  }

  /**
   * Finds the usage in a block and keeps the last; when cutting, adds to the
   * cuts its usage-only events (their blank line along) and `"usage":null` members.
   */
  #findUsage(block: Buffer) {
    const end = block.length
    let at = block.indexOf(USAGE_TAIL)
    while (at !== -1) {
      const key = at - 1
      const value = isKeyQuote(block, key) ? valueStart(block, at + USAGE_TAIL.length, end) : end
      let next = at + USAGE_TAIL.length
      if (value < end && block[value] === OPEN_BRACE) {
        const start = lineStart(block, key)
        const stop = lineEnd(block, value, end)
        const found = parseDataLine(block.toString('utf8', start, stop), this.#anthropic)
        if (found) {
          this.#usage = found.usage
          if (this.#cutUsage && found.usageOnly) this.#cutEvent(block, start, stop)
        }
        // The line was read whole: its other keys, if any, are its own business.
        next = stop
      } else if (this.#cutUsage && isNull(block, value, end)) {
        this.#cuts.push(nullMemberRange(block, key, value + NULL_LENGTH, end))
        next = value + NULL_LENGTH
      }
      at = block.indexOf(USAGE_TAIL, next)
    }
  }

  /** Cuts the one-line event at block[start..stop) with its line break and the blank line after it. */
  #cutEvent(block: Buffer, start: number, stop: number) {
    const end = block.length
    const next = stop + breakLength(block, stop, end)
    // The blank line that ends the event is in the next block when this one ends here.
    if (next >= end) this.#blankLineNext = true
    this.#cuts.push([start, next + breakLength(block, next, end)])
  }

  /** Keeps the last `"sequence_number": N` of a block, if it has one. */
  #readSequence(block: Buffer) {
    const end = block.length
    let at = block.lastIndexOf(SEQUENCE_TAIL)
    while (at > 0) {
      // A hit that is no key (`\"sequence_number"` ending a string): look further back.
      let i = isKeyQuote(block, at - 1) ? valueStart(block, at + SEQUENCE_TAIL.length, end) : end
      let n = 0
      let digits = 0
      for (; i < end && block[i]! >= 0x30 && block[i]! <= 0x39; i++, digits++)
        n = n * 10 + block[i]! - 0x30
      if (digits > 0) {
        this.#lastSequence = n
        return
      }
      at = block.lastIndexOf(SEQUENCE_TAIL, at - 1)
    }
  }
}

/** The usage of a `data:` line, and whether the event is usage only (no choices), or null. */
function parseDataLine(
  line: string,
  anthropic: AnthropicStreamUsage,
): { usage: RawUsage; usageOnly: boolean } | null {
  if (!line.startsWith('data:')) return null
  try {
    const event = JSON.parse(line.slice(5)) as Record<string, unknown>
    const overlaid = anthropic.read(event)
    if (overlaid) {
      const usage = readUsage(overlaid)
      if (usage && !anthropic.final) usage.outputPending = true
      return usage && { usage, usageOnly: false }
    }
    const response = event.response as Record<string, unknown> | undefined
    const usage = readUsage(event.usage ?? response?.usage)
    if (!usage) return null
    return { usage, usageOnly: Array.isArray(event.choices) && event.choices.length === 0 }
  } catch {
    return null
  }
}
