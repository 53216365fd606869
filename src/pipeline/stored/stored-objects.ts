import { GatewayError } from '../../http/errors.ts'
import { nowSeconds } from '../../lib/clock.ts'
import { OWN_SETTLES_WAIT_MS } from '../../lib/pending-writes.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { ParsedRequest } from '../request/parse.ts'
import type { StreamMeter } from '../stream/stream-body.ts'
import { StoredIdReader } from './stored-id-reader.ts'
import { referencedIds } from './stored-ids.ts'
import { bindStoredObjects, ownersOf } from './stored-objects.repo.ts'

/**
 * Objects the upstream stores (a Responses answer and its items, a chat
 * answer's audio, a container) live in the operator's one account, so any
 * user who learns an id could continue from another user's stored context.
 * Each id the gateway hands out is bound to its user in the database (so the
 * binding holds across the user's keys, processes and replicas), and a
 * request naming an id its user does not own is refused as if the id did not
 * exist (docs/security.md, "Stored objects belong to their user").
 */

type CheckDeps = Pick<PipelineDeps, 'config' | 'database' | 'pendingSettles'>
type BindDeps = Pick<PipelineDeps, 'clock' | 'database' | 'logger' | 'pendingSettles'>

/**
 * 404 unless the user owns every stored object the request names; an id the
 * gateway never bound passes only with storedObjects.unseenIds `forward`. One
 * indexed read, and only for a body that names ids. A binding of the user's
 * own may still be on its way (an answer that just ended): a miss waits for
 * the user's pending writes once, as a refused reservation does.
 */
export async function checkStoredReferences(
  deps: CheckDeps,
  userId: string,
  endpoint: Endpoint,
  request: ParsedRequest,
): Promise<void> {
  const references = request.offLoop?.references ?? referencedIds(endpoint, request.body)
  if (references.length === 0) return
  const { db } = deps.database
  const ids = [...new Set(references.map((reference) => reference.id))]
  let owners = await ownersOf(db, ids)
  const unseen = deps.config.storedObjects.unseenIds
  const refused = () =>
    references.find(({ id }) => {
      const owner = owners.get(id)
      return owner === undefined ? unseen === 'refuse' : owner !== userId
    })
  let first = refused()
  if (first && !owners.has(first.id) && deps.pendingSettles.has(userId)) {
    await deps.pendingSettles.settled(userId, OWN_SETTLES_WAIT_MS)
    owners = await ownersOf(db, ids)
    first = refused()
  }
  if (first) {
    throw new GatewayError(
      'not_found',
      `No stored object with id '${first.id}' was found (${first.param})`,
      { param: first.param },
    )
  }
}

/**
 * Binds ids an answer handed out to its user; never rejects (a failed write
 * is logged: the user cannot name those ids later, a refusal, never a leak).
 * Tracked with the user's settles, so their next request waits for it.
 */
export function bindStoredIds(
  deps: BindDeps,
  userId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return Promise.resolve()
  const unique = [...new Set(ids)]
  const write = bindStoredObjects(deps.database.db, userId, unique, nowSeconds(deps.clock)).catch(
    (error) => deps.logger.error({ err: error, userId }, 'Binding stored object ids failed'),
  )
  deps.pendingSettles.track(userId, write)
  return write
}

/**
 * A reader of the ids a stream hands out, binding each as it passes (long
 * before the stream's end): Responses streams always, chat streams only when
 * they asked for audio (the only stored object a chat answer names).
 */
export function storedIdReaderFor(
  deps: BindDeps,
  userId: string,
  endpoint: Endpoint,
  body: Record<string, unknown>,
): StoredIdReader | null {
  // Anthropic streams name a container (and its files) only when code execution may run.
  const messages = endpoint === 'messages' && usesContainers(body)
  if (endpoint !== 'responses' && !messages && !(endpoint === 'chat' && asksForAudio(body)))
    return null
  return new StoredIdReader(endpoint, (ids) => void bindStoredIds(deps, userId, ids))
}

/** The meter, with the ids reader reading what the client is sent. */
export function readingIds(meter: StreamMeter, reader: StoredIdReader): StreamMeter {
  return {
    push(chunk) {
      const out = meter.push(chunk)
      reader.push(out)
      return out
    },
    end() {
      const out = meter.end()
      reader.push(out)
      return out
    },
  }
}

/** A Messages request that names a container or declares a server tool that may make one. */
function usesContainers(body: Record<string, unknown>): boolean {
  if (body.container != null) return true
  if (!Array.isArray(body.tools)) return false
  for (const tool of body.tools) {
    const type =
      typeof tool === 'object' && tool !== null ? (tool as { type?: unknown }).type : null
    if (typeof type === 'string' && CONTAINER_TOOL.test(type)) return true
  }
  return false
}
const CONTAINER_TOOL = /^(code_execution|bash_code_execution|text_editor_code_execution)_/

function asksForAudio(body: Record<string, unknown>): boolean {
  return body.audio != null || (Array.isArray(body.modalities) && body.modalities.includes('audio'))
}
