import { StringDecoder } from 'node:string_decoder'
import { audioTokens, SseOutputReader } from '../estimate/output-text.ts'
import type { TokenCounter } from '../estimate/tokenizer.ts'

/**
 * How much of a stream's delivered output is kept before it is read and
 * counted. The defaults keep a stream's state under about 300 KB however long
 * it runs, and leave an answer of up to 256 KiB (nearly every one) unread
 * unless it is cut: reading and counting as it goes cost a 64 KB stream about
 * 0.45 ms of CPU, ten times the meter's own work.
 */
export interface DeliveredLimits {
  /** Delivered bytes held unread; past this they are read (most answers end before). */
  windowBytes: number
  /** Text held uncounted; past this it is counted, in pieces of at most this many characters. */
  countChars: number
  /** One SSE line (or one event's data) held whole; a longer one passes unread, as in the meter. */
  lineChars: number
}

export const DELIVERED_LIMITS: DeliveredLimits = {
  windowBytes: 256 * 1024,
  countChars: 8 * 1024,
  lineChars: 1024 * 1024,
}

/**
 * The delivered-output counter of one stream: what a disconnect, a failure or
 * an answer without usage bills (proxy.ts). It counts as it goes: the bytes
 * are held only while they fit in a small window (an answer that ends within
 * it, the usual one, is never read at all), then read into text and audio
 * (output-text.ts) and the text counted by the model's tokenizer in pieces,
 * so its memory stays bounded however long the stream runs.
 *
 * Pieces are cut before a space where one is near the end of a piece: the
 * pre-tokenizer splits there too, so the pieces count what the whole would;
 * a piece without a space is cut anywhere, which adds a token or none.
 */
export class DeliveredOutput {
  readonly #count: TokenCounter
  readonly #limits: DeliveredLimits
  #raw: Buffer[] = []
  #rawBytes = 0
  #reader: SseOutputReader | null = null
  #decoder: StringDecoder | null = null
  #textChars = 0
  #tokens = 0
  #total: number | null = null

  constructor(count: TokenCounter, limits: DeliveredLimits = DELIVERED_LIMITS) {
    this.#count = count
    this.#limits = limits
  }

  add(bytes: Buffer) {
    if (bytes.length === 0 || this.#total !== null) return
    this.#raw.push(bytes)
    this.#rawBytes += bytes.length
    if (this.#rawBytes > this.#limits.windowBytes) this.#read()
  }

  /** The output tokens delivered: read to the end once, then the same answer. */
  tokens(): number {
    if (this.#total !== null) return this.#total
    const reader = this.#read()
    reader.push(this.#decoder!.end())
    reader.end()
    this.#countText(true)
    this.#total = this.#tokens + audioTokens(reader.output.audioBytes)
    this.#raw = []
    return this.#total
  }

  /** What the counter holds now, in bytes and characters (the memory bound's proof reads it). */
  retained(): number {
    return this.#rawBytes + this.#textChars + (this.#reader?.heldChars() ?? 0)
  }

  #read(): SseOutputReader {
    this.#reader ??= new SseOutputReader(this.#limits.lineChars)
    this.#decoder ??= new StringDecoder('utf8')
    // One string a read, not one a chunk: the reader scans each push from the held line's end.
    if (this.#raw.length > 0) {
      const raw = this.#raw.length === 1 ? this.#raw[0]! : Buffer.concat(this.#raw)
      this.#reader.push(this.#decoder.write(raw))
    }
    this.#raw = []
    this.#rawBytes = 0
    this.#countText(false)
    return this.#reader
  }

  /** Counts the text read so far in pieces, all of it at the end, else down to less than a piece. */
  #countText(final: boolean) {
    const output = this.#reader!.output
    this.#textChars = 0
    for (const text of output.texts) this.#textChars += text.length
    const piece = this.#limits.countChars
    if (!final && this.#textChars <= piece) return
    const text = output.texts.join('')
    let start = 0
    while (text.length - start > piece) {
      let end = text.lastIndexOf(' ', start + piece)
      if (end <= start + piece / 2) end = start + piece
      // Never between the two halves of a surrogate pair (an emoji would count as two errors).
      if (isHighSurrogate(text.charCodeAt(end - 1))) end--
      this.#tokens += this.#count(text.slice(start, end))
      start = end
    }
    if (final && start < text.length) {
      this.#tokens += this.#count(text.slice(start))
      start = text.length
    }
    output.texts = start < text.length ? [text.slice(start)] : []
    this.#textChars = text.length - start
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
