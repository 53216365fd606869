import { GatewayError } from '../../http/errors.ts'
import { anthropicAnswerIds, anthropicReferences } from '../anthropic/stored-ids.ts'
import type { Endpoint } from '../request/endpoint.ts'

type Body = Record<string, unknown>

/**
 * Ids of objects the upstream stores in the operator's account: which fields
 * of a request name one, and which fields of an answer hand one out. Pure
 * functions; the ownership check and the bindings are stored-objects.ts.
 */

/** An id a request names, and the parameter that names it (for the refusal). */
export interface Reference {
  id: string
  param: string
}

/**
 * Distinct ids one request may name. A long agent loop passes its earlier
 * output items back by id (a few per turn); a thousand is far above that and
 * keeps the one lookup (`id in (...)`) short on both databases.
 */
export const MAX_REFERENCES = 1_000
/** Longer than any id the upstream hands out: such an id is refused unread. */
const MAX_ID_LENGTH = 256

/**
 * Every stored-object id the request names, in the fields the upstream
 * resolves: Responses previous_response_id, conversation (a string or {id}),
 * input items by id (item_reference, or any item passed back with its id),
 * code interpreter containers; chat assistant messages' audio {id}; file_id
 * in content parts of both. A field of the wrong type is a 400 here, so the
 * upstream never reads it otherwise than the gateway did.
 */
export function referencedIds(endpoint: Endpoint, body: Body): Reference[] {
  const found: Reference[] = []
  if (endpoint === 'responses') {
    optionalId(found, body.previous_response_id, 'previous_response_id')
    const conversation = body.conversation
    if (isObject(conversation)) requiredId(found, conversation.id, 'conversation.id')
    else optionalId(found, conversation, 'conversation')
    const input = body.input
    if (Array.isArray(input)) {
      for (let i = 0; i < input.length; i++) responsesItem(found, input[i], `input[${i}]`)
    }
    if (Array.isArray(body.tools)) {
      for (let i = 0; i < body.tools.length; i++) {
        const tool = body.tools[i]
        // A container id names one (`container: {type: "auto"}` makes a new one).
        if (isObject(tool) && tool.type === 'code_interpreter' && !isObject(tool.container))
          optionalId(found, tool.container, `tools[${i}].container`)
      }
    }
  } else if (endpoint === 'chat' && Array.isArray(body.messages)) {
    for (let i = 0; i < body.messages.length; i++) {
      const message = body.messages[i]
      if (!isObject(message)) continue
      if (message.audio != null) {
        if (!isObject(message.audio)) invalid(`messages[${i}].audio`, 'an object {id}')
        requiredId(found, message.audio.id, `messages[${i}].audio.id`)
      }
      parts(found, message.content, `messages[${i}].content`)
    }
  } else if (endpoint === 'messages') {
    for (const { value, param } of anthropicReferences(body)) requiredId(found, value, param)
  }
  if (found.length > MAX_REFERENCES) {
    throw new GatewayError(
      'invalid_request',
      `The request names ${found.length} stored objects by id; at most ${MAX_REFERENCES} are accepted`,
      { param: found[MAX_REFERENCES]!.param },
    )
  }
  return found
}

/** A Responses input item: a reference by id, an item passed back with its id, its parts' files. */
function responsesItem(found: Reference[], item: unknown, param: string) {
  if (!isObject(item)) return
  if (item.type === 'item_reference') requiredId(found, item.id, `${param}.id`)
  else optionalId(found, item.id, `${param}.id`)
  parts(found, item.content, `${param}.content`)
}

/** Content parts naming a file by id: chat's {type: file, file: {file_id}}, Responses' input_file / input_image. */
function parts(found: Reference[], content: unknown, param: string) {
  if (!Array.isArray(content)) return
  for (let i = 0; i < content.length; i++) {
    const part = content[i]
    if (!isObject(part)) continue
    const file = isObject(part.file) ? part.file : part
    const at = file === part ? `${param}[${i}].file_id` : `${param}[${i}].file.file_id`
    optionalId(found, file.file_id, at)
  }
}

function optionalId(found: Reference[], value: unknown, param: string) {
  if (value === undefined || value === null) return
  requiredId(found, value, param)
}

function requiredId(found: Reference[], value: unknown, param: string) {
  if (typeof value !== 'string' || value.length === 0) invalid(param, 'a non-empty string id')
  if (value.length > MAX_ID_LENGTH) invalid(param, `an id of at most ${MAX_ID_LENGTH} characters`)
  found.push({ id: value, param })
}

function invalid(param: string, what: string): never {
  throw new GatewayError('invalid_request', `${param} must be ${what}`, { param })
}

/**
 * The stored-object ids a JSON answer hands out: a Responses answer's id and
 * its output items' ids (and a code interpreter call's container), a chat
 * answer's audio ids. Read from the parsed answer's own structure, never by
 * searching its bytes: an answer echoes the request's metadata and tools,
 * where a client may write any id. Chat answers are parsed only when they
 * hold audio at all.
 */
export function idsOfJsonAnswer(endpoint: Endpoint, bytes: Buffer): string[] {
  if (endpoint !== 'responses' && endpoint !== 'chat' && endpoint !== 'messages') return []
  if (endpoint === 'chat' && bytes.indexOf('"audio"') === -1) return []
  // Anthropic answers name stored objects only with code execution (a container, its files).
  if (endpoint === 'messages' && bytes.indexOf('"container"') === -1) return []
  let answer: unknown
  try {
    answer = JSON.parse(bytes.toString('utf8'))
  } catch {
    return []
  }
  const ids: string[] = []
  if (endpoint === 'responses') idsOfResponse(ids, answer)
  else if (endpoint === 'messages') for (const id of anthropicAnswerIds(answer)) pushId(ids, id)
  else idsOfChatAnswer(ids, answer, 'message')
  return ids
}

/** A Responses object: its id and each output item's. */
export function idsOfResponse(ids: string[], response: unknown) {
  if (!isObject(response)) return
  pushId(ids, response.id)
  if (Array.isArray(response.output)) for (const item of response.output) idsOfItem(ids, item)
}

/** A Responses output item: its id, and the container a code interpreter call ran in. */
export function idsOfItem(ids: string[], item: unknown) {
  if (!isObject(item)) return
  pushId(ids, item.id)
  pushId(ids, item.container_id)
}

/** Audio ids of a chat answer (`message`) or of a streamed chunk (`delta`). */
export function idsOfChatAnswer(ids: string[], answer: unknown, field: 'message' | 'delta') {
  if (!isObject(answer) || !Array.isArray(answer.choices)) return
  for (const choice of answer.choices) {
    const message = isObject(choice) ? choice[field] : undefined
    if (isObject(message) && isObject(message.audio)) pushId(ids, message.audio.id)
  }
}

function pushId(ids: string[], value: unknown) {
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH)
    ids.push(value)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
