import { GatewayError } from '../../http/errors.ts'
import { type ClientRequest, headerOf } from './proxy-request.ts'
import type { UploadTurn } from './upload-turns.ts'

/** A small body's chunks as one buffer (a large one is joined in the worker, token-pool.ts). */
export function joinChunks({ chunks, length }: BodyChunks): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)
}

/** A body as the chunks the socket handed over, in order, never joined on the event loop. */
export interface BodyChunks {
  chunks: Buffer[]
  length: number
}

/**
 * The body as the chunks Node's HTTP parser handed over (each a copy of its
 * own), in order. With a content-length (what SDKs send) the Node stream is
 * read directly, the body limit enforced here too; a chunked body goes through
 * the Request that the bodyLimit middleware already wrapped. A large body is read in its user's `turn` (upload-turns.ts):
 * paced, and never joined on the event loop: its chunks move to the counting
 * worker without a copy and are joined there (token-pool.ts, prepareOffLoop).
 * Joining them here would allocate a second copy of the body on the loop, whose
 * copy and collection cost the loop more than reading did (docs/security.md,
 * "The estimator's cost").
 */
export async function readChunks(
  request: Pick<ClientRequest, 'connection' | 'headers'>,
  limit: number,
  turn?: UploadTurn,
): Promise<BodyChunks> {
  const { node, web } = request.connection
  const declared = headerOf(request, 'content-length')
  if (!node || declared === undefined) {
    const whole = Buffer.from(await web.arrayBuffer())
    return { chunks: [whole], length: whole.length }
  }
  const incoming = node.incoming as AsyncIterable<Buffer>
  const chunks: Buffer[] = []
  let length = 0
  try {
    for await (const chunk of incoming) {
      length += chunk.length
      if (length > limit) throw tooLarge()
      chunks.push(chunk)
      // Ahead of the allowed rate, the turn holds the stream (its socket pauses).
      if (turn) await turn.pace(chunk.length)
    }
    return { chunks, length }
  } catch (error) {
    if (error instanceof GatewayError) throw error
    // The client went away mid-body: nothing was reserved yet, and nobody reads the answer.
    throw new GatewayError('invalid_request', 'The request body could not be read', {
      cause: error,
    })
  }
}

const tooLarge = () => new GatewayError('payload_too_large', 'Request body too large')
