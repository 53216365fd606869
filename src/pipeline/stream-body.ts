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
 * onEnd / onFailure / onClientGone decides the bill (the outcome guards
 * against a second). Never rejects.
 */
export async function pumpMeteredStream(options: MeteredStreamOptions): Promise<void> {
  const { body, meter, sink } = options
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  // Cancel: stop the upstream at once (on a socket undici's signal does it too).
  if (options.drainTimeoutMs === null) sink.onGone(() => body.destroy())
  for (;;) {
    let next: IteratorResult<Buffer>
    try {
      next = await chunks.next()
    } catch (error) {
      if (sink.gone) return clientLeft(options, chunks)
      sink.end(options.onFailure(error))
      return
    }
    if (next.done) {
      const rest = meter.end()
      if (sink.gone) return clientLeft(options, chunks)
      options.onEnd()
      sink.end(rest)
      return
    }
    const out = meter.push(next.value)
    if (sink.gone) return clientLeft(options, chunks)
    if (out.length > 0 && !sink.write(out)) await sink.drained()
  }
}

async function clientLeft(options: MeteredStreamOptions, chunks: AsyncIterator<Buffer>) {
  const { body, meter, drainTimeoutMs } = options
  if (drainTimeoutMs === null) body.destroy()
  const drained =
    drainTimeoutMs === null ? null : await drainRest(body, chunks, meter, drainTimeoutMs)
  options.onClientGone(drained)
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
