import { ANTHROPIC_ID_EVENTS, anthropicStreamEventIds } from '../anthropic/stored-ids.ts'
import type { Endpoint } from '../request/endpoint.ts'
import { CR, firstBreak, NL } from '../stream/sse-bytes.ts'
import { idsOfChatAnswer, idsOfItem, idsOfResponse } from './stored-ids.ts'

/** Enough of a line to see its event type: `data: {"type":"response.output_item.added",` */
const HEAD_BYTES = 128
/**
 * The longest event read whole for its ids. `response.created` echoes the
 * request's instructions and tools, so it can be large; a longer one is let
 * pass unread, and its ids are not bound (the user cannot name them later:
 * a refusal, never a leak).
 */
const LINE_LIMIT = 2 * 1024 * 1024
const DATA = Buffer.from('data:')
const RESPONSE_EVENTS = [
  Buffer.from('"response.created"'),
  Buffer.from('"response.output_item.added"'),
]
/*
 * What a chunk is searched for: the event types' ends. Buffer.indexOf stops at
 * every occurrence of a needle's first byte, and JSON is full of quotes (the
 * usage reader's note, sse-usage-reader.ts); a dot is rarer (about two a delta event).
 */
const RESPONSE_NEEDLES = [Buffer.from('.created"'), Buffer.from('.output_item.added"')]
const AUDIO = Buffer.from('"audio"')
const MESSAGES_EVENTS = ANTHROPIC_ID_EVENTS.map((type) => Buffer.from(type))
/** Anthropic's event types: the needles are the types' ends, rarer than their quotes. */
const MESSAGES_NEEDLES = ANTHROPIC_ID_EVENTS.map((type) => Buffer.from(type.slice(1)))
const ID = Buffer.from('"id"')

/**
 * Reads the stored-object ids a stream hands out, as the client receives
 * them, and reports each batch at once (`found`), so the binding is written
 * while the stream goes on, long before it ends. Responses streams: the
 * response id in `response.created`, each item's in
 * `response.output_item.added`; chat streams that asked for audio: each
 * delta's audio id. Only those events are parsed (JSON.parse of the event,
 * never a byte search for ids: an event echoes the request's metadata).
 *
 * Cheap on the other events: a chunk is searched (Buffer.indexOf, native) for
 * the event types, and a line is looked at only around a hit; only a line
 * still open at a chunk's end is kept (its first HEAD_BYTES while undecided,
 * then whole only when it is one to read, up to LINE_LIMIT).
 */
export class StoredIdReader {
  readonly #chat: boolean
  readonly #needles: Buffer[]
  readonly #found: (ids: string[]) => void
  /** The start of the line still open at the last chunk's end (copies), when kept. */
  #open: Buffer[] = []
  #openBytes = 0
  /** The open line is of no interest (or too long): skip up to its end. */
  #skipping = false

  readonly #events: Buffer[]

  constructor(endpoint: Endpoint, found: (ids: string[]) => void) {
    this.#chat = endpoint === 'chat'
    const messages = endpoint === 'messages'
    this.#needles = this.#chat ? [AUDIO] : messages ? MESSAGES_NEEDLES : RESPONSE_NEEDLES
    this.#events = messages ? MESSAGES_EVENTS : RESPONSE_EVENTS
    this.#found = found
  }

  /** Reads one chunk of what the client is sent (kept bytes are copied: the caller may reuse it). */
  push(chunk: Buffer) {
    let from = 0
    if (this.#skipping || this.#openBytes > 0) {
      const end = firstBreak(chunk, 0)
      if (end === -1) {
        if (!this.#skipping) this.#grow(Buffer.from(chunk))
        return
      }
      if (!this.#skipping) {
        this.#open.push(chunk.subarray(0, end))
        this.#openBytes += end
        this.#consider(this.#takeOpen())
      }
      this.#skipping = false
      from = end + 1
    }
    this.#scan(chunk, from)
  }

  /** The complete lines of chunk[from..] around each hit; then what is open at its end. */
  #scan(chunk: Buffer, from: number) {
    let at = from
    for (;;) {
      const hit = this.#nextHit(chunk, at)
      if (hit === -1) break
      const start = Math.max(chunk.lastIndexOf(NL, hit), chunk.lastIndexOf(CR, hit), at - 1) + 1
      const end = firstBreak(chunk, hit)
      if (end === -1) {
        this.#grow(Buffer.from(chunk.subarray(start)))
        return
      }
      this.#consider(chunk.subarray(start, end))
      at = end + 1
    }
    // A line open at the end with no hit yet: its type may still be cut in two (Responses),
    // or "audio" may come later in it (chat).
    const last = Math.max(chunk.lastIndexOf(NL), chunk.lastIndexOf(CR))
    const tail = Math.max(last + 1, at)
    if (tail < chunk.length) this.#grow(Buffer.from(chunk.subarray(tail)))
  }

  #nextHit(chunk: Buffer, from: number): number {
    let first = -1
    for (const needle of this.#needles) {
      const at = chunk.indexOf(needle, from)
      if (at !== -1 && (first === -1 || at < first)) first = at
    }
    return first
  }

  /** Adds to the open line; drops it once it cannot be one to read (or is too long). */
  #grow(bytes: Buffer) {
    this.#open.push(bytes)
    this.#openBytes += bytes.length
    const undecided = !this.#chat && this.#openBytes >= HEAD_BYTES
    if (this.#openBytes > LINE_LIMIT || (undecided && !this.#interesting(this.#peekOpen()))) {
      this.#open = []
      this.#openBytes = 0
      this.#skipping = true
    }
  }

  #peekOpen(): Buffer {
    if (this.#open.length > 1) this.#open = [Buffer.concat(this.#open)]
    return this.#open[0]!
  }

  #takeOpen(): Buffer {
    const line = this.#open.length === 1 ? this.#open[0]! : Buffer.concat(this.#open)
    this.#open = []
    this.#openBytes = 0
    return line
  }

  /** A complete line: read when it is an event that names ids. */
  #consider(line: Buffer) {
    if (this.#chat ? hasAudioId(line) : this.#interesting(line)) this.#read(line)
  }

  /** A Responses `data:` line whose type (the event's first key at OpenAI) names an id. */
  #interesting(line: Buffer): boolean {
    if (line.length < DATA.length || line.compare(DATA, 0, DATA.length, 0, DATA.length) !== 0)
      return false
    const head = line.subarray(0, HEAD_BYTES)
    return this.#events.some((type) => head.includes(type))
  }

  #read(line: Buffer) {
    if (line.compare(DATA, 0, DATA.length, 0, DATA.length) !== 0) return
    let event: unknown
    try {
      event = JSON.parse(line.toString('utf8', DATA.length))
    } catch {
      return
    }
    if (typeof event !== 'object' || event === null) return
    const ids: string[] = []
    if (this.#chat) idsOfChatAnswer(ids, event, 'delta')
    else if (this.#events === MESSAGES_EVENTS) {
      for (const id of anthropicStreamEventIds(event as Record<string, unknown>))
        if (typeof id === 'string' && id.length > 0) ids.push(id)
    } else {
      const { type, response, item } = event as Record<string, unknown>
      if (type === 'response.created') idsOfResponse(ids, response)
      else if (type === 'response.output_item.added') idsOfItem(ids, item)
    }
    if (ids.length > 0) this.#found(ids)
  }
}

/** A chat chunk with an audio id: `"audio"` followed, somewhere after, by an `"id"` key. */
function hasAudioId(line: Buffer): boolean {
  const audio = line.indexOf(AUDIO)
  return audio !== -1 && line.indexOf(ID, audio) !== -1
}
