import { GatewayError } from '../../http/errors.ts'
import { type ClientRequest, headerOf } from './proxy-request.ts'

/**
 * The request body's bytes. With a content-length (what SDKs send) the Node
 * stream is read directly, the body limit enforced here too; a chunked body
 * goes through the Request that the bodyLimit middleware already wrapped.
 */
export async function readRequestBody(
  request: Pick<ClientRequest, 'connection' | 'headers'>,
  limit: number,
): Promise<Buffer> {
  const { node, web } = request.connection
  if (!node || headerOf(request, 'content-length') === undefined) {
    return Buffer.from(await web.arrayBuffer())
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of node.incoming as AsyncIterable<Buffer>) {
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
