import { GatewayError } from '../../http/errors.ts'
import { LARGE_BODY_BYTES, refuseWhenQueueFull } from '../estimate/token-pool.ts'
import { type ClientRequest, headerOf } from '../request/proxy-request.ts'
import { type BodyChunks, readChunks } from '../request/read-body.ts'
import { type UploadTurn, uploadTurn } from '../request/upload-turns.ts'
import type { AdmitDeps } from './admit.ts'
import { refuseBeforeReading } from './early-refusal.ts'

/**
 * A proxied call's body (text or media), read so that no body costs the event
 * loop more than a few milliseconds before the user's limits have let it in
 * (docs/security.md, "The estimator's cost"). A large one, or one of unknown
 * length, is first checked against the user's worker queue and counters (a
 * refusal closes the connection instead of reading the upload), then read in
 * the user's turn, paced (upload-turns.ts), and kept as the chunks the socket
 * delivered, for the worker to join (token-pool.ts).
 */
export async function readBodyInTurn(
  request: Pick<ClientRequest, 'caller' | 'connection' | 'headers'>,
  deps: AdmitDeps,
): Promise<BodyChunks> {
  return readInUserTurn(request, deps.config.server.bodyLimitBytes, async (caller) => {
    refuseWhenQueueFull(caller.userId)
    await refuseBeforeReading(caller, deps)
  })
}

/**
 * The same read, with `before` as the check made before a large body is read:
 * a free call (count_tokens) only checks the worker queue, a billed one the
 * user's counters too.
 */
export async function readInUserTurn(
  request: Pick<ClientRequest, 'caller' | 'connection' | 'headers'>,
  limit: number,
  before: (caller: ClientRequest['caller']) => Promise<void> | void = (caller) =>
    refuseWhenQueueFull(caller.userId),
): Promise<BodyChunks> {
  const { caller } = request
  const declared = headerOf(request, 'content-length')
  let turn: UploadTurn | undefined
  if (declared === undefined || Number(declared) > LARGE_BODY_BYTES) {
    try {
      await before(caller)
      turn = await uploadTurn(caller.userId)
    } catch (error) {
      // The body is not read: the connection closes after the refusal instead of draining it.
      if (error instanceof GatewayError) error.headers.connection = 'close'
      throw error
    }
  }
  try {
    return await readChunks(request, limit, turn)
  } finally {
    turn?.end()
  }
}
