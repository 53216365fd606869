import { CR, firstBreak, lastBreak } from './sse-bytes.ts'

/**
 * The longest line held to be read whole. A longer one (a broken or hostile
 * upstream: an event that never ends) is passed on unread up to its end, so a
 * stream's memory stays bounded; a usage in it is missed, and the stream is
 * billed by counting its text, as a stream without usage is.
 */
export const LINE_LIMIT = 8 * 1024 * 1024

/** Where the framer hands what it cut out of the byte stream, in stream order. */
export interface LineSink {
  /**
   * Complete lines, as one buffer: it ends with a line break, except for the
   * last line of a body that ended without one. The buffer is the sink's: it
   * may cut bytes out of it in place.
   */
  lines(block: Buffer): void
  /** Bytes of a line longer than the limit, passed on unread (never part of a block). */
  unread(bytes: Buffer): void
}

/**
 * The SSE line framer: bytes in as the network cut them, complete lines out.
 * The bytes after a chunk's last line break are held until their line is
 * complete (a line may be cut anywhere, a CRLF between its two bytes too);
 * all the complete lines of a chunk go out as one block, so the reader
 * searches them with one native byte search instead of a call per line.
 * Held bytes are kept as received (no copy until their line ends), and never
 * more than the line limit of them.
 */
export class SseLineFramer {
  readonly #sink: LineSink
  readonly #limit: number
  /** The bytes after the last line break, not yet a complete line. */
  #held: Buffer[] = []
  #heldBytes = 0
  /** The held line outgrew the limit: what follows passes unread up to the next line break. */
  #skipping = false

  constructor(sink: LineSink, limit = LINE_LIMIT) {
    this.#sink = sink
    this.#limit = limit
  }

  /** Frames one upstream chunk. */
  push(chunk: Buffer) {
    if (chunk.length === 0) return
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
    if (end === data.length) return this.#sink.lines(data)
    this.#sink.lines(data.subarray(0, end))
    this.#hold(data.subarray(end))
  }

  /** The body ended: its last line, even without a break, is complete. */
  end() {
    if (this.#heldBytes > 0) this.#sink.lines(this.#release())
  }

  #hold(bytes: Buffer) {
    this.#held.push(bytes)
    this.#heldBytes += bytes.length
    if (this.#heldBytes <= this.#limit) return
    this.#skipping = true
    this.#sink.unread(this.#release())
  }

  #release(): Buffer {
    const held = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held)
    this.#held = []
    this.#heldBytes = 0
    return held
  }

  /** Passes on the rest of an overlong line, its break included; what follows is framed again. */
  #skipLine(chunk: Buffer) {
    const first = firstBreak(chunk, 0)
    if (first === -1) return this.#sink.unread(chunk)
    this.#skipping = false
    this.#sink.unread(chunk.subarray(0, first + 1))
    this.push(chunk.subarray(first + 1))
  }
}
