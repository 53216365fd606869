import type { Readable } from 'node:stream'

/** The part of the SSE meter the stream drives. */
export interface StreamMeter {
  push(chunk: Buffer): Buffer
  end(): Buffer
}

export interface MeteredStreamOptions {
  /** The upstream's body (undici). */
  body: Readable
  meter: StreamMeter
  /** The upstream body ended: settle, before the client sees the end of the stream. */
  onEnd(): Promise<void>
  /** The upstream failed after the stream began: end the reservation, return the final error event. */
  onFailure(error: unknown): Promise<Uint8Array>
  /**
   * The client went away; after draining the upstream when `drainTimeoutMs` is set:
   * `drained` says whether the drain read the upstream to its end (null: no drain).
   */
  onClientGone(drained: boolean | null): Promise<void>
  /** Keep reading the upstream this long after a disconnect, for its usage (policy `drain`). */
  drainTimeoutMs: number | null
}

/**
 * The client's body: a pull-based ReadableStream whose pull reads the next
 * chunk from undici, so bytes leave as soon as they arrive and backpressure
 * reaches the upstream. (Readable.toWeb() kills Node 20 when a client
 * disconnects mid-stream: docs/reference/ARCHITECTURE.md, "Pitfalls".)
 *
 * @hono/node-server cancels this stream when the client goes away; from then
 * on nothing is enqueued, and exactly one of onEnd / onFailure / onClientGone
 * decides the bill (the outcome guards against a second).
 */
export function createMeteredStream(options: MeteredStreamOptions): ReadableStream<Uint8Array> {
  const { body, meter } = options
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let clientGone = false
  let inflight: Promise<void> | null = null

  async function step(controller: ReadableStreamDefaultController<Uint8Array>) {
    // Loop until something can be enqueued: a pull that enqueues nothing is never called again.
    for (;;) {
      let next: IteratorResult<Buffer>
      try {
        next = await chunks.next()
      } catch (error) {
        if (clientGone) return
        const event = await options.onFailure(error)
        if (!clientGone) finish(controller, event)
        return
      }
      if (next.done) {
        const rest = meter.end()
        if (clientGone) return
        await options.onEnd()
        if (!clientGone) finish(controller, rest)
        return
      }
      const out = meter.push(next.value)
      if (clientGone) return
      if (out.length > 0) {
        controller.enqueue(out)
        return
      }
    }
  }

  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        inflight = step(controller)
        return inflight
      },
      async cancel() {
        clientGone = true
        const { drainTimeoutMs } = options
        if (drainTimeoutMs === null) body.destroy()
        await inflight?.catch(() => {})
        const drained =
          drainTimeoutMs === null ? null : await drainRest(body, chunks, meter, drainTimeoutMs)
        await options.onClientGone(drained)
      },
    },
    { highWaterMark: 0 },
  )
}

function finish(controller: ReadableStreamDefaultController<Uint8Array>, last: Uint8Array) {
  if (last.length > 0) controller.enqueue(last)
  controller.close()
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
