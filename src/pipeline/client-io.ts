import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { GatewayError } from '../http/errors.ts'

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
 */
export async function readRequestBody(c: Context<AppEnv>): Promise<Buffer> {
  const bindings = nodeBindings(c)
  if (!bindings || c.req.header('content-length') === undefined) {
    return Buffer.from(await c.req.arrayBuffer())
  }
  const limit = c.get('deps').config.server.bodyLimitBytes
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of bindings.incoming as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) throw new GatewayError('payload_too_large', 'Request body too large')
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error
    // The client went away mid-body: nothing was reserved yet, and nobody reads the answer.
    throw new GatewayError('invalid_request', 'The request body could not be read', {
      cause: error,
    })
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

/**
 * A signal that aborts when the client goes away before the answer is
 * complete, to pass to undici so the upstream call stops too.
 */
export function clientGoneSignal(c: Context<AppEnv>): AbortSignal {
  const bindings = nodeBindings(c)
  if (!bindings) return c.req.raw.signal
  const controller = new AbortController()
  const { outgoing } = bindings
  if (outgoing.destroyed) controller.abort(new Error('Client connection closed'))
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort(new Error('Client connection closed'))
  })
  return controller.signal
}
