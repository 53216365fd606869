import type { ServerResponse } from 'node:http'
import type { ClientConnection } from '../request/proxy-request.ts'

/**
 * Where a stream's bytes go to the client. On a real socket that is Node's
 * ServerResponse, written directly: the status and headers leave with the
 * first chunk, and an answer read at once (headers, chunks, end) in one
 * writev; nothing goes through a Web ReadableStream (its setup,
 * makeTransferable and per-chunk promises cost about 60 µs a stream).
 * Without a socket (app.request() in tests) the same bytes go into a
 * ReadableStream that the returned Response carries; stream-body.ts drives
 * both the same way.
 */
export interface ClientSink {
  /** Sends a chunk. False: the client is not reading; wait for drained() before the next. */
  write(chunk: Uint8Array): boolean
  /** Resolves when the client can take more, or has gone. */
  drained(): Promise<void>
  /** Sends the last bytes (may be empty) and ends the body. */
  end(last: Uint8Array): void
  /** The client went away before end(). */
  readonly gone: boolean
  /** Called once when the client goes away before end(). */
  onGone(listener: () => void): void
}

export interface OpenedStream {
  sink: ClientSink
  /** What the handler returns: the stream's Response, or one that tells @hono/node-server it was sent. */
  response: Response
}

/**
 * @hono/node-server's "already sent" marker (RESPONSE_ALREADY_SENT in
 * @hono/node-server/utils/response): a Response with this header and no body
 * makes it write nothing, leaving the ServerResponse to the handler.
 */
const ALREADY_SENT = 'x-hono-already-sent'
let sent200: Response | undefined

/**
 * Opens the client's stream with the upstream's status and the client's
 * headers. `firstChunkReady`: the upstream has bytes buffered already, so the
 * headers can wait a moment to leave with them; otherwise (a model still
 * thinking) they are flushed now, so the client sees the answer start.
 */
export function openClientStream(
  connection: ClientConnection,
  requestId: string,
  status: number,
  headers: Record<string, string>,
  firstChunkReady: boolean,
): OpenedStream {
  // What middleware set with c.header() before the handler lives in hono's context, which
  // this answer never passes through: the request id is the one such header (request-id.ts).
  headers['x-request-id'] = requestId
  if (!connection.node) return webStream(status, headers)
  const { outgoing } = connection.node
  outgoing.writeHead(status, headers)
  if (!firstChunkReady) outgoing.flushHeaders()
  return { sink: new NodeSink(outgoing), response: alreadySent(status) }
}

/** Carries the status the request log and metrics read (c.res.status); shared when it is 200. */
function alreadySent(status: number): Response {
  if (status !== 200) return new Response(null, { status, headers: { [ALREADY_SENT]: 'true' } })
  sent200 ??= new Response(null, { headers: { [ALREADY_SENT]: 'true' } })
  return sent200
}

/**
 * Node's response as a sink. No corking here: Node corks the socket itself on
 * the first chunked write of a tick and uncorks it on the next, so the chunks
 * of one event-loop turn (undici often reads several SSE events at once) and
 * the headers before them leave in one writev, and end() uncorks fully. A
 * class: its methods are shared by every stream, none is made per stream.
 */
class NodeSink implements ClientSink {
  readonly #outgoing: ServerResponse
  #ended = false
  #gone: boolean
  #listeners: Array<() => void> = []

  constructor(outgoing: ServerResponse) {
    this.#outgoing = outgoing
    this.#gone = outgoing.destroyed
    outgoing.once('close', () => this.#closed())
  }

  #closed() {
    if (this.#ended) return // a close after the end is not a client leaving: everything was sent
    this.#gone = true
    for (const listener of this.#listeners) listener()
  }

  write(chunk: Uint8Array): boolean {
    return this.#outgoing.write(chunk)
  }

  drained(): Promise<void> {
    const outgoing = this.#outgoing
    if (this.#gone || !outgoing.writableNeedDrain) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = () => {
        outgoing.off('drain', done)
        outgoing.off('close', done)
        resolve()
      }
      outgoing.once('drain', done)
      outgoing.once('close', done)
    })
  }

  end(last: Uint8Array) {
    this.#ended = true
    if (this.#gone) return
    if (last.length > 0) this.#outgoing.end(last)
    else this.#outgoing.end()
  }

  get gone() {
    return this.#gone
  }

  onGone(listener: () => void) {
    if (this.#gone) queueMicrotask(listener)
    else this.#listeners.push(listener)
  }
}

/**
 * The adapter for app.request(): a ReadableStream that holds at most one
 * chunk the reader has not asked for (highWaterMark 0), so backpressure
 * reaches the upstream as on a socket. Cancelling it is the client leaving.
 */
function webStream(status: number, headers: Record<string, string>): OpenedStream {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let demand = false
  let waiting: (() => void) | null = null
  let gone = false
  let ended = false
  const listeners: Array<() => void> = []
  const wake = () => {
    const resolve = waiting
    waiting = null
    resolve?.()
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(ctrl) {
        controller = ctrl
      },
      pull() {
        demand = true
        wake()
      },
      cancel() {
        if (ended) return
        gone = true
        wake()
        for (const listener of listeners) listener()
      },
    },
    { highWaterMark: 0 },
  )
  const sink: ClientSink = {
    write(chunk) {
      if (gone) return true
      demand = false
      controller.enqueue(chunk)
      return false
    },
    drained() {
      if (gone || demand) return Promise.resolve()
      return new Promise<void>((resolve) => {
        waiting = resolve
      })
    },
    end(last) {
      ended = true
      if (gone) return
      if (last.length > 0) controller.enqueue(last)
      controller.close()
    },
    get gone() {
      return gone
    },
    onGone(listener) {
      if (gone) queueMicrotask(listener)
      else listeners.push(listener)
    },
  }
  return { sink, response: new Response(body, { status, headers }) }
}
