import { GatewayError } from '../../http/errors.ts'
import { type ClientRequest, headerOf } from './proxy-request.ts'
import type { UploadTurn } from './upload-turns.ts'

/**
 * The request body's bytes. With a content-length (what SDKs send) the Node
 * stream is read directly, the body limit enforced here too; a chunked body
 * goes through the Request that the bodyLimit middleware already wrapped.
 * A large body is read in its user's `turn` (upload-turns.ts): paced, and
 * straight into one buffer of its declared length, so the loop copies it once
 * and the collector meets one allocation instead of the chunks and their concat.
 */
export async function readRequestBody(
  request: Pick<ClientRequest, 'connection' | 'headers'>,
  limit: number,
  turn?: UploadTurn,
): Promise<Buffer> {
  const { node, web } = request.connection
  const declared = headerOf(request, 'content-length')
  if (!node || declared === undefined) {
    return Buffer.from(await web.arrayBuffer())
  }
  const incoming = node.incoming as AsyncIterable<Buffer>
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
