import type { TokenCounter } from '../estimate/tokenizer.ts'
import type { RawUsage } from '../settle/usage.ts'
import { DELIVERED_LIMITS, type DeliveredLimits, DeliveredOutput } from './delivered-output.ts'
import { EMPTY } from './sse-bytes.ts'
import { type LineSink, SseLineFramer } from './sse-line-framer.ts'
import { SseUsageReader } from './sse-usage-reader.ts'

export { LINE_LIMIT } from './sse-line-framer.ts'

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
  const reader = new SseUsageReader(options.dropUsageChunk, options.trackSequence ?? false)
  return new SseMeter(options.dropUsageChunk, reader, delivered)
}

/**
 * A pass-through over an SSE body that meters it, in two parts:
 *
 * - the line framer (sse-line-framer.ts) turns the chunks the network cut
 *   into blocks of complete lines, holding only an unfinished last line (and
 *   letting an overlong one pass unread);
 * - the usage reader (sse-usage-reader.ts) reads those blocks for the usage
 *   and the last sequence number, and cuts the usage the client did not ask
 *   for.
 *
 * Both stand on the byte helpers of sse-bytes.ts. The meter joins them and
 * feeds what the client is sent to the delivered-output counter
 * (delivered-output.ts), which bills a stream without usage or cut short.
 *
 * When nothing is cut, each chunk goes on as it arrives and is read behind
 * it. When the usage is cut, what goes on is what the framer completed, so
 * an unfinished line waits for its end; the output then differs from the
 * input only by the cut event and the `"usage":null` members.
 */
export class SseMeter {
  readonly #cutting: boolean
  readonly #framer: SseLineFramer
  readonly #reader: SseUsageReader
  readonly #delivered: DeliveredOutput
  readonly #sent: ReadAndSend

  constructor(dropUsageChunk: boolean, reader: SseUsageReader, delivered: DeliveredOutput) {
    this.#cutting = dropUsageChunk
    this.#reader = reader
    this.#delivered = delivered
    this.#sent = new ReadAndSend(reader, dropUsageChunk)
    this.#framer = new SseLineFramer(this.#sent)
  }

  /**
   * Feeds one upstream chunk; returns the bytes to send on (the chunk itself unless cutting;
   * possibly empty). The chunk is the meter's from then on: cutting removes bytes from it in place.
   */
  push(chunk: Buffer): Buffer {
    if (!this.#cutting) {
      this.#delivered.add(chunk)
      this.#framer.push(chunk)
      return chunk
    }
    this.#framer.push(chunk)
    return this.#sendOn()
  }

  /** The upstream body ended; returns what was still held back to send on (possibly empty). */
  end(): Buffer {
    this.#framer.end()
    return this.#cutting ? this.#sendOn() : EMPTY
  }

  usage(): RawUsage | null {
    return this.#reader.usage()
  }

  /** The last sequence_number the upstream sent (trackSequence), null before the first. */
  lastSequence(): number | null {
    return this.#reader.lastSequence()
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

  /** When cutting: what the chunk or the end gave to send on, also fed to the delivered count. */
  #sendOn(): Buffer {
    const bytes = this.#sent.take()
    this.#delivered.add(bytes)
    return bytes
  }
}

/**
 * The framer's sink: each block of complete lines goes to the usage reader;
 * when cutting, what the reader keeps and what passes unread is collected, in
 * order, to send on.
 */
class ReadAndSend implements LineSink {
  readonly #reader: SseUsageReader
  readonly #collect: boolean
  readonly #pieces: Buffer[] = []

  constructor(reader: SseUsageReader, collect: boolean) {
    this.#reader = reader
    this.#collect = collect
  }

  lines(block: Buffer) {
    const kept = this.#reader.read(block)
    if (this.#collect) this.#pieces.push(kept)
  }

  unread(bytes: Buffer) {
    this.#reader.lineSkipped()
    if (this.#collect) this.#pieces.push(bytes)
  }

  /** What was collected since the last call, as one buffer (possibly empty). */
  take(): Buffer {
    const pieces = this.#pieces
    if (pieces.length === 0) return EMPTY
    // pop(), not a new array or `length = 0`: most chunks give one piece, and this is per chunk.
    return pieces.length === 1 ? pieces.pop()! : Buffer.concat(pieces.splice(0))
  }
}
