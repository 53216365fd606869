import { randomUUID } from 'node:crypto'
import { type Server, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '../lib/logger.ts'
import { type ErrorCode, GatewayError } from './errors.ts'

/**
 * Node refuses some requests itself, before any route sees them: a request line
 * or header it cannot parse, headers over its maxHeaderSize (16 KiB by
 * default), a request that took too long to arrive. By default it answers
 * with a bare status line; this answers in the API's envelope instead, then
 * closes the connection (the stream cannot be read on past a parse error).
 * Only the error's code is logged: the error also carries the request's bytes
 * (`rawPacket`), credentials included.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A connection the client reset, or one already answering a request: nothing to say.
    if (error.code === 'ECONNRESET' || !socket.writable || bytesWritten(socket) > 0) {
      socket.destroy()
      return
    }
    const refusal = refusalFor(error.code)
    const requestId = randomUUID()
    const body = JSON.stringify(refusal.toBody())
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    )
    logger.info(
      { requestId, status: refusal.status, reason: error.code ?? 'unknown' },
      'request refused before routing',
    )
  })
}

const REFUSALS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [
    'request_header_fields_too_large',
    'Request headers are too large (16 KiB at most, all headers together)',
  ],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: ['payload_too_large', 'Chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request did not arrive in time'],
}

function refusalFor(code: string | undefined): GatewayError {
  const [errorCode, message] = REFUSALS[code ?? ''] ?? [
    'invalid_request',
    'Malformed HTTP request (request line, headers or chunked body)',
  ]
  return new GatewayError(errorCode, message)
}

function bytesWritten(socket: Duplex): number {
  return (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0
}
