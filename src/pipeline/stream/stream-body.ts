import type { Readable } from 'node:stream'
import type { ClientSink } from './client-stream.ts'

/** The part of the SSE meter the stream drives. */
export interface StreamMeter {
  push(chunk: Buffer): Buffer
  end(): Buffer
}

export interface MeteredStreamOptions {
  /** The upstream's body (undici). */
  body: Readable
  meter: StreamMeter
  /** Where the bytes go (client-stream.ts: Node's response, or the app.request() adapter). */
  sink: ClientSink
  /** The upstream body ended: settle (at once; the write follows), then the client sees the end. */
  onEnd(): void
  /** The upstream failed after the stream began: end the reservation, return the final error event. */
  onFailure(error: unknown): Uint8Array
  /**
   * The client went away; after draining the upstream when `drainTimeoutMs` is set:
   * `drained` says whether the drain read the upstream to its end (null: no drain).
   */
  onClientGone(drained: boolean | null): void
  /** Keep reading the upstream this long after a disconnect, for its usage (policy `drain`). */
  drainTimeoutMs: number | null
}

/**
 * Pipes the upstream's SSE body through the meter to the client, chunk by
 * chunk as they arrive: a chunk is read from undici only once the client took
 * the previous one (write() false -> wait for drained()), so backpressure
 * reaches the upstream and nothing piles up in the gateway. Exactly one of
 * onEnd / onFailure / onClientGone decides the bill. Never rejects unless the
 * gateway itself throws (a bug: the caller still ends the reservation).
 */
export function pumpMeteredStream(options: MeteredStreamOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => new Pump(options, resolve, reject).start())
}

/**
 * The pump runs on the body's 'readable' events and read(), not its async
 * iterator: no promise per chunk, and the order of events lets an answer that
 * arrived whole leave in one writev. read() takes the last bytes and queues
 * 'end' (a tick away) before the write below queues Node's uncork, so the end
 * (and the chunked terminator) joins the corked write instead of a second
 * syscall. A class: its methods are shared by every stream, none is made per stream.
 */
class Pump {
  readonly #options: MeteredStreamOptions
  readonly #resolve: () => void
  readonly #reject: (error: unknown) => void
  /** The client's buffer is full: read nothing until drained(). */
  #waiting = false
  /** One of end, failure or client gone took over; the body's later events are ignored. */
  #done = false

  constructor(
    options: MeteredStreamOptions,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#options = options
    this.#resolve = resolve
    this.#reject = reject
  }

  start() {
    const { body, sink, drainTimeoutMs } = this.#options
    // Cancel: stop the upstream at once (on a socket undici's signal does it too).
    if (drainTimeoutMs === null) sink.onGone(() => body.destroy())
    body.on('readable', () => this.#guard(() => this.#read()))
    body.once('end', () => this.#guard(() => this.#ended()))
    body.once('error', (error) => this.#guard(() => this.#failed(error)))
    // Destroyed without an error (a cancel after the client left): no 'end' will come. The
    // check first: 'close' follows every end too, and an Error's stack trace is not free.
    body.once('close', () => {
      if (!this.#done) this.#guard(() => this.#failed(prematureClose()))
    })
  }

  /** Handlers run from the body's events: what a bug throws rejects the pump instead. */
  #guard(step: () => void) {
    try {
      step()
    } catch (error) {
      this.#done = true
      this.#reject(error)
    }
  }

  #read() {
    if (this.#waiting || this.#done) return
    const { body, meter, sink } = this.#options
    for (let chunk: Buffer | null = body.read(); chunk !== null; chunk = body.read()) {
      const out = meter.push(chunk)
      if (sink.gone) return this.#clientLeft(null)
      if (out.length > 0 && !sink.write(out)) {
        this.#waiting = true
        sink.drained().then(() => {
          this.#waiting = false
          this.#guard(() => this.#read())
        }, this.#reject)
        return
      }
    }
  }

  #ended() {
    if (this.#done) return
    const { meter, sink } = this.#options
    const rest = meter.end()
    // The upstream's whole answer was read: a drain has nothing left to wait for.
    if (sink.gone) return this.#clientLeft(true)
    this.#done = true
    this.#options.onEnd()
    sink.end(rest)
    this.#resolve()
  }

  #failed(error: unknown) {
    if (this.#done) return
    if (this.#options.sink.gone) return this.#clientLeft(false)
    this.#done = true
    this.#options.sink.end(this.#options.onFailure(error))
    this.#resolve()
  }

  /**
   * The client went away. `upstreamDone`: the body already ended (true) or
   * failed (false); null: it is still open, and a drain reads on.
   */
  #clientLeft(upstreamDone: boolean | null) {
    this.#done = true
    const options = this.#options
    const { body, meter, drainTimeoutMs } = options
    if (drainTimeoutMs === null) {
      body.destroy()
      options.onClientGone(null)
      return this.#resolve()
    }
    if (upstreamDone !== null) {
      options.onClientGone(upstreamDone)
      return this.#resolve()
    }
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    drainRest(body, chunks, meter, drainTimeoutMs)
      .then((drained) => {
        options.onClientGone(drained)
        this.#resolve()
      })
      .catch(this.#reject)
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('The upstream body closed before its end'), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  })
}

/**
 * Reads what is left of an upstream body nobody will receive, through the
 * meter (for its usage), at most `timeoutMs`. True when it reached the end.
 */
export async function drainRest(
  body: Readable,
  chunks: AsyncIterator<Buffer>,
  meter: StreamMeter,
  timeoutMs: number,
): Promise<boolean> {
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    body.destroy()
  }, timeoutMs)
  try {
    for (;;) {
      const next = await chunks.next()
      // A destroyed body may end without an error: only a natural end counts.
      if (next.done) return !timedOut
      meter.push(next.value)
    }
  } catch {
    return false // timed out or failed: what was read is billed
  } finally {
    clearTimeout(timer)
  }
}
