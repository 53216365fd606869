/*
 * Anthropic's objects kept in the operator's workspace, shared by every user
 * of the upstream key: Files API files (`file_...`, named by an image or
 * document source of type `file` and by a `container_upload` block) and
 * code-execution containers (the `container` parameter; the answer's
 * `container.id`). They are bound to the user as OpenAI's stored objects are
 * (stored/stored-ids.ts does the checking and binding); this file only knows
 * where Anthropic puts them.
 */

/** A value that names a stored object (checked by the caller), and where. */
export interface NamedId {
  value: unknown
  param: string
}

/** Every stored-object id a Messages (or count_tokens) body names. */
export function anthropicReferences(body: Record<string, unknown>): NamedId[] {
  const found: NamedId[] = []
  const container = body.container
  if (isObject(container)) {
    if (container.id != null) found.push({ value: container.id, param: 'container.id' })
  } else if (container != null) found.push({ value: container, param: 'container' })
  if (Array.isArray(body.messages)) {
    for (let i = 0; i < body.messages.length; i++) {
      const message = body.messages[i]
      if (isObject(message)) blocks(found, message.content, `messages[${i}].content`)
    }
  }
  return found
}

/** Blocks naming a file, at any depth a block can nest (a tool result's content, a document's). */
function blocks(found: NamedId[], content: unknown, param: string, depth = 0) {
  if (!Array.isArray(content) || depth > 4) return
  for (let i = 0; i < content.length; i++) {
    const block = content[i]
    if (!isObject(block)) continue
    const at = `${param}[${i}]`
    if (block.type === 'container_upload')
      found.push({ value: block.file_id, param: `${at}.file_id` })
    const source = block.source
    if (isObject(source)) {
      if (source.type === 'file')
        found.push({ value: source.file_id, param: `${at}.source.file_id` })
      blocks(found, source.content, `${at}.source.content`, depth + 1)
    }
    blocks(found, block.content, `${at}.content`, depth + 1)
  }
}

/**
 * The stored-object ids an Anthropic message hands out: its container's id,
 * and the files a server tool's result names (code execution writes files the
 * client may fetch or pass back). Read from the answer's own structure, never
 * from echoed input.
 */
export function anthropicAnswerIds(answer: unknown): unknown[] {
  const ids: unknown[] = []
  if (!isObject(answer) || answer.type !== 'message') return ids
  if (isObject(answer.container)) ids.push(answer.container.id)
  if (Array.isArray(answer.content)) {
    for (const block of answer.content) {
      if (isObject(block) && typeof block.type === 'string' && block.type.endsWith('_tool_result'))
        fileIds(ids, block.content, 0)
    }
  }
  return ids
}

function fileIds(ids: unknown[], value: unknown, depth: number) {
  if (depth > 6) return
  if (Array.isArray(value)) for (const item of value) fileIds(ids, item, depth + 1)
  else if (isObject(value)) {
    if (typeof value.file_id === 'string') ids.push(value.file_id)
    for (const key in value) if (key !== 'file_id') fileIds(ids, value[key], depth + 1)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The event types of an Anthropic stream that may name a stored object: the
 * container in message_start's message or a message_delta's delta, the files of
 * a server tool's result block. Anthropic puts `type` first in every event.
 */
export const ANTHROPIC_ID_EVENTS = ['"message_start"', '"message_delta"', '"content_block_start"']

/** The stored-object ids one parsed Anthropic stream event hands out. */
export function anthropicStreamEventIds(event: Record<string, unknown>): unknown[] {
  const ids: unknown[] = []
  if (event.type === 'message_start' && isObject(event.message)) {
    if (isObject(event.message.container)) ids.push(event.message.container.id)
  } else if (event.type === 'message_delta' && isObject(event.delta)) {
    if (isObject(event.delta.container)) ids.push(event.delta.container.id)
  } else if (event.type === 'content_block_start' && isObject(event.content_block)) {
    const block = event.content_block
    if (typeof block.type === 'string' && block.type.endsWith('_tool_result'))
      fileIds(ids, block.content, 0)
  }
  return ids
}
