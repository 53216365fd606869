import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { GatewayError } from '../../http/errors.ts'
import { requestHeader } from '../../http/request-headers.ts'
import type { UploadTurn } from './upload-turns.ts'

/*
 * @hono/node-server hands out a lightweight Request: touching its body or its
 * `signal` builds a real undici Request over Readable.toWeb(incoming), the
 * web-stream cost docs/reference/ARCHITECTURE.md measured. On the hot path the proxy reads
 * the Node request and watches the Node response directly, and falls back to
 * the Request where there is no Node socket (app.request() in tests).
 */

/** The Node request and response behind the context; undefined under app.request(). */
export function nodeBindings(c: Context<AppEnv>): HttpBindings | undefined {
  const env = c.env as Partial<HttpBindings> | undefined
  return env?.incoming && env.outgoing ? (env as HttpBindings) : undefined
}

/**
 * The request body's bytes. With a content-length (what SDKs send) the Node
 * stream is read directly, the body limit enforced here too; a chunked body
 * goes through the Request that the bodyLimit middleware already wrapped.
 * A large body is read in its user's `turn` (upload-turns.ts): paced, and
 * straight into one buffer of its declared length, so the loop copies it once
 * and the collector meets one allocation instead of the chunks and their concat.
 */
export async function readRequestBody(c: Context<AppEnv>, turn?: UploadTurn): Promise<Buffer> {
  const bindings = nodeBindings(c)
  const declared = requestHeader(c, 'content-length')
  if (!bindings || declared === undefined) {
    return Buffer.from(await c.req.arrayBuffer())
  }
  const limit = c.get('deps').config.server.bodyLimitBytes
  const incoming = bindings.incoming as AsyncIterable<Buffer>
  try {
    if (turn) return await readInto(incoming, Math.min(Number(declared), limit), turn)
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of incoming) {
      size += chunk.length
      if (size > limit) throw tooLarge()
      chunks.push(chunk)
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
  } catch (error) {
    if (error instanceof GatewayError) throw error
    // The client went away mid-body: nothing was reserved yet, and nobody reads the answer.
    throw new GatewayError('invalid_request', 'The request body could not be read', {
      cause: error,
    })
  }
}

const tooLarge = () => new GatewayError('payload_too_large', 'Request body too large')

/**
 * Reads the body into one buffer of its declared length (Node's parser never
 * hands over more than the content-length), pausing as `turn` paces it. The
 * buffer is allocated on the first byte, not before: a client that declares
 * the body limit and sends nothing holds no memory. Its own ArrayBuffer
 * (allocUnsafeSlow) moves to the counting worker without a copy.
 */
async function readInto(incoming: AsyncIterable<Buffer>, length: number, turn: UploadTurn) {
  let body: Buffer | null = null
  let size = 0
  for await (const chunk of incoming) {
    if (size + chunk.length > length) throw tooLarge()
    body ??= Buffer.allocUnsafeSlow(length)
    chunk.copy(body, size)
    size += chunk.length
    await turn.pace(chunk.length)
  }
  if (!body) return Buffer.alloc(0)
  return size === length ? body : body.subarray(0, size)
}

/**
 * "The client went away": the part of AbortSignal the proxy and undici use (undici
 * takes any object with addEventListener as a request's signal). An AbortSignal is
 * one; on the hot path it is the lighter ClientGoneSignal below.
 */
export interface ClientGone {
  readonly aborted: boolean
  readonly reason: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/**
 * A signal that aborts when the client goes away before the answer is
 * complete, to pass to undici so the upstream call stops too.
 */
export function clientGoneSignal(c: Context<AppEnv>): ClientGone {
  const bindings = nodeBindings(c)
  if (!bindings) return c.req.raw.signal
  const signal = new ClientGoneSignal()
  const { outgoing } = bindings
  if (outgoing.destroyed) signal.abort(new Error('Client connection closed'))
  else
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) signal.abort(new Error('Client connection closed'))
    })
  return signal
}

/**
 * An abort signal without EventTarget: an AbortController and its AbortSignal cost
 * a proxied request about as much as its three prom-client metrics. Listeners run
 * once, in the order added; one that throws is reported as an uncaught exception
 * after the others ran, as an EventTarget does.
 */
export class ClientGoneSignal implements ClientGone {
  aborted = false
  reason: unknown = undefined
  #listeners: Array<() => void> = []

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted && !this.#listeners.includes(listener)) this.#listeners.push(listener)
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.#listeners.indexOf(listener)
    if (at !== -1) this.#listeners.splice(at, 1)
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listeners = this.#listeners
    this.#listeners = []
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        process.nextTick(() => {
          throw error
        })
      }
    }
  }
}
