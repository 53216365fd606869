import type { Endpoint } from './estimate.ts'
import { idsOfChatAnswer, idsOfItem, idsOfResponse } from './stored-ids.ts'

const NL = 0x0a
const CR = 0x0d
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
const AUDIO = Buffer.from('"audio"')
const ID = Buffer.from('"id"')

/**
 * Reads the stored-object ids a stream hands out, as the client receives
 * them, and reports each batch at once (`found`), so the binding is written
 * while the stream goes on, long before it ends. Responses streams: the
 * response id in `response.created`, each item's in
 * `response.output_item.added`; chat streams that asked for audio: each
 * delta's audio id. Only those events are parsed (JSON.parse of the event,
 * never a byte search for ids: an event echoes the request's metadata); any
 * other line is dropped after its first bytes, so the state stays one line.
 */
export class StoredIdReader {
  readonly #chat: boolean
  readonly #found: (ids: string[]) => void
  #line: Buffer[] = []
  #lineBytes = 0
  /** The current line is of no interest (or too long): its bytes are dropped up to its end. */
  #skipping = false

  constructor(endpoint: Endpoint, found: (ids: string[]) => void) {
    this.#chat = endpoint === 'chat'
    this.#found = found
  }

  /** Reads one chunk of what the client is sent (the bytes are copied where a line is kept). */
  push(chunk: Buffer) {
    // SSE ends lines with LF, CRLF or CR; a CR is rare, so the chunk is searched for one once.
    const hasCr = chunk.includes(CR)
    let start = 0
    while (start < chunk.length) {
      const end = nextBreak(chunk, start, hasCr)
      if (end === -1) {
        this.#keep(chunk.subarray(start), false)
        return
      }
      this.#keep(chunk.subarray(start, end), true)
      start = end + 1
    }
  }

  #keep(bytes: Buffer, complete: boolean) {
    if (!this.#skipping && bytes.length > 0) {
      this.#line.push(complete ? bytes : Buffer.from(bytes))
      this.#lineBytes += bytes.length
      if (this.#lineBytes > LINE_LIMIT) this.#drop(true)
      else if (!this.#chat && this.#lineBytes >= HEAD_BYTES && !this.#interesting(this.#head()))
        this.#drop(true)
    }
    if (complete) this.#endLine()
  }

  #endLine() {
    if (!this.#skipping && this.#lineBytes > 0) {
      const line = this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line)
      if (this.#chat ? hasAudioId(line) : this.#interesting(line)) this.#read(line)
    }
    this.#drop(false)
  }

  #head(): Buffer {
    return this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line)
  }

  /** A Responses `data:` line whose type (the event's first key at OpenAI) names an id. */
  #interesting(line: Buffer): boolean {
    if (line.compare(DATA, 0, DATA.length, 0, DATA.length) !== 0) return false
    const head = line.subarray(0, HEAD_BYTES)
    return RESPONSE_EVENTS.some((type) => head.includes(type))
  }

  #read(line: Buffer) {
    let event: unknown
    try {
      event = JSON.parse(line.toString('utf8', DATA.length))
    } catch {
      return
    }
    if (typeof event !== 'object' || event === null) return
    const ids: string[] = []
    if (this.#chat) idsOfChatAnswer(ids, event, 'delta')
    else {
      const { type, response, item } = event as Record<string, unknown>
      if (type === 'response.created') idsOfResponse(ids, response)
      else if (type === 'response.output_item.added') idsOfItem(ids, item)
    }
    if (ids.length > 0) this.#found(ids)
  }

  #drop(skipRest: boolean) {
    this.#line = []
    this.#lineBytes = 0
    this.#skipping = skipRest
  }
}

/** A chat chunk with an audio id: `"audio"` followed, somewhere after, by an `"id"` key. */
function hasAudioId(line: Buffer): boolean {
  const audio = line.indexOf(AUDIO)
  return audio !== -1 && line.indexOf(ID, audio) !== -1
}

/** The first LF or CR at or after `from` (a CRLF reads as a line and an empty one), else -1. */
function nextBreak(data: Buffer, from: number, hasCr: boolean): number {
  const nl = data.indexOf(NL, from)
  if (!hasCr) return nl
  const cr = data.indexOf(CR, from)
  return nl === -1 ? cr : cr === -1 ? nl : Math.min(nl, cr)
}
