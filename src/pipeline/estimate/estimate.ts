import type { Config } from '../../config/schema.ts'
import { answersAsked } from '../request/answers.ts'
import type { Endpoint } from '../request/endpoint.ts'
import { mediaCost, PAYLOAD_KEYS } from './media-tokens.ts'
import { counterForModel } from './tokenizer.ts'

/** Exported here too: the stages read it beside the estimate they pass it to. */
export type { Endpoint }

type Body = Record<string, unknown>

/*
 * OpenAI's chat format (openai-cookbook "How to count tokens with tiktoken"):
 * every message costs 3 tokens of framing plus its role (1 token for every
 * role name in use), a name 1 more, and the reply is primed with 3.
 */
const PER_MESSAGE = 4
const PER_NAME = 1
const REPLY_PRIMING = 3
const ROLES: ReadonlySet<unknown> = new Set([
  'system',
  'developer',
  'user',
  'assistant',
  'tool',
  'function',
])

/**
 * The prompt as the upstream will bill it, or more. `unknown` names what the
 * gateway cannot see (previous_response_id, conversation, a stored prompt, a
 * file id or URL, an item_reference, an assistant message's audio id): admit
 * reserves quota.unknownContextTokens for each.
 */
export interface InputEstimate {
  tokens: number
  unknown: string[]
}

/** The prompt's tokens, without what is unknown (the bench and the tests call this). */
export function estimateInputTokens(endpoint: Endpoint, model: string, body: Body): number {
  return estimateInput(endpoint, model, body).tokens
}

/**
 * Every string of the body counts, wherever it is: messages and their parts,
 * tools and schemas, predictions, metadata, fields no one knows yet, and
 * object keys outside OpenAI's own structure (a schema's property names).
 * Images, audio and files count by media-tokens.ts. The texts are joined and
 * tokenized once (one tokenizer call per request, however many strings); the
 * newline between two strings stands for the framing between fields.
 */
export function estimateInput(endpoint: Endpoint, model: string, body: Body): InputEstimate {
  const { text, fixed, unknown } = collectInput(endpoint, model, body)
  return { tokens: fixed + (text === null ? 0 : counterForModel(model)(text)), unknown }
}

/** The body's texts joined (null when none), the tokens counted without text, what is unknown. */
export function collectInput(endpoint: Endpoint, model: string, body: Body) {
  const tally: Tally = { model, texts: [], fixed: 0, unknown: [] }
  for (const key in body) {
    const value = body[key]
    if (
      key === 'model' ||
      value === null ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    )
      continue
    if (!PARAMS.has(key)) tally.texts.push(key)
    if (
      key === 'messages' &&
      (endpoint === 'chat' || endpoint === 'messages') &&
      Array.isArray(value)
    ) {
      tally.fixed += REPLY_PRIMING
      for (const message of value) walkMessage(tally, message)
    } else if (key === 'input' && endpoint === 'responses') {
      // A string input is one user message; either way the reply is primed as in chat.
      tally.fixed += REPLY_PRIMING
      if (Array.isArray(value)) for (const item of value) walkMessage(tally, item)
      else walkMessage(tally, value)
    } else if (
      (key === 'prompt' && endpoint === 'completions') ||
      (key === 'input' && endpoint === 'embeddings')
    ) {
      // Token ids are counted as they are; anything else is text (walk may add media to `fixed`).
      const ids = tokenIds(value)
      if (ids === null) walk(tally, value)
      else tally.fixed += ids
    } else {
      if (UNKNOWN_CONTEXT.has(key) && (key !== 'prompt' || isObject(value))) tally.unknown.push(key)
      walk(tally, value)
    }
  }
  const { texts, fixed, unknown } = tally
  const text = texts.length === 0 ? null : texts.length === 1 ? texts[0]! : texts.join('\n')
  return { text, fixed, unknown }
}

interface Tally {
  model: string
  texts: string[]
  fixed: number
  unknown: string[]
}

/** Top-level keys OpenAI defines: their names are not text (their values still are). */
const PARAMS: ReadonlySet<string> = new Set(
  (
    'messages input prompt suffix instructions tools functions tool_choice function_call ' +
    'response_format text metadata prediction user stop logit_bias modalities audio reasoning ' +
    'reasoning_effort service_tier stream_options include previous_response_id conversation ' +
    'truncation web_search_options encoding_format safety_identifier prompt_cache_key verbosity'
  ).split(' '),
)
/** Parameters that bring in context the gateway cannot see (Responses: a stored prompt is `prompt.id`). */
const UNKNOWN_CONTEXT: ReadonlySet<string> = new Set([
  'previous_response_id',
  'conversation',
  'prompt',
])
/** Keys of OpenAI's message and part structure: names of structure, not text. */
const STRUCTURE: ReadonlySet<string> = new Set(
  (
    'role content name type text refusal image_url url detail input_audio data format file ' +
    'file_data file_id filename file_url tool_calls tool_call_id function arguments id call_id output'
  ).split(' '),
)

/** A chat message or a Responses input item: its framing, then every field as text. */
function walkMessage(tally: Tally, message: unknown) {
  tally.fixed += PER_MESSAGE
  if (!isObject(message)) return walk(tally, message)
  // Stored content pulled in by id: an earlier item, or an earlier answer's audio.
  if (message.type === 'item_reference') tally.unknown.push('item_reference')
  if (isObject(message.audio) && typeof message.audio.id === 'string')
    tally.unknown.push('audio.id')
  for (const key in message) {
    const value = message[key]
    if (key === 'role' && ROLES.has(value)) continue // in PER_MESSAGE
    if (key === 'name' && typeof value === 'string') tally.fixed += PER_NAME
    if (!STRUCTURE.has(key)) tally.texts.push(key)
    walk(tally, value)
  }
}

/** Pushes every string (and number) under `value`; adds media parts' costs. */
function walk(tally: Tally, value: unknown): void {
  if (typeof value === 'string') tally.texts.push(value)
  else if (typeof value === 'number' || typeof value === 'boolean') tally.texts.push(String(value))
  else if (Array.isArray(value)) for (const item of value) walk(tally, item)
  else if (isObject(value)) {
    const media = mediaCost(tally.model, value)
    if (media) {
      tally.fixed += media.tokens
      if (media.unknown) tally.unknown.push(media.unknown)
    }
    for (const key in value) {
      const field = value[key]
      if (media) walkPartField(tally, key, field)
      else {
        if (!STRUCTURE.has(key)) tally.texts.push(key)
        walk(tally, field)
      }
    }
  }
}

/** A field of a media part: its payload is billed by mediaCost, the rest (a detail, a file name) is text. */
function walkPartField(tally: Tally, key: string, field: unknown) {
  if (PAYLOAD_KEYS.has(key) && typeof field === 'string') return
  if (!STRUCTURE.has(key)) tally.texts.push(key)
  if (!isObject(field)) return void walk(tally, field)
  for (const inner in field) walkPartField(tally, inner, field[inner])
}

/** Token ids (completions prompts, embeddings inputs): an array of numbers, or of such arrays. */
function tokenIds(value: unknown): number | null {
  if (!Array.isArray(value) || value.length === 0) return null
  if (value.every((v) => typeof v === 'number')) return value.length
  let sum = 0
  for (const item of value) {
    if (!Array.isArray(item) || !item.every((v) => typeof v === 'number')) return null
    sum += item.length
  }
  return sum
}

/**
 * Output tokens to reserve: the request's own ceiling (max_completion_tokens,
 * max_tokens, or max_output_tokens for the Responses API) clamped to
 * quota.maxOutputReserve, else quota.defaultOutputReserve; times the number
 * of answers the request asks for (answers.ts: n, best_of, one per prompt;
 * admit refuses more than quota.maxAnswersPerRequest before this, and caps the
 * result at the plan's output limit).
 */
export function estimateOutputReserve(
  endpoint: Endpoint,
  body: Body,
  quota: Pick<Config['quota'], 'defaultOutputReserve' | 'maxOutputReserve'>,
): number {
  if (endpoint === 'embeddings') return 0
  const asked =
    endpoint === 'responses'
      ? positiveInt(body.max_output_tokens)
      : endpoint === 'messages'
        ? anthropicOutputCeiling(body)
        : (positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens))
  const each = Math.min(asked ?? quota.defaultOutputReserve, quota.maxOutputReserve)
  return each * answersAsked(endpoint, body).total
}

/**
 * Anthropic's output ceiling: max_tokens, which includes the thinking; with
 * interleaved thinking the budget spans the whole turn and may pass
 * max_tokens, so the larger of the two is reserved.
 */
function anthropicOutputCeiling(body: Body): number | undefined {
  const maxTokens = positiveInt(body.max_tokens)
  const thinking = body.thinking
  const budget = isObject(thinking) ? positiveInt(thinking.budget_tokens) : undefined
  if (budget === undefined) return maxTokens
  return Math.max(budget, maxTokens ?? 0)
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
