import { z } from 'zod'
import { isModelName, MODEL_NAME_RULE } from '../admission/model-access.ts'
import { anthropicMessagesShape } from '../anthropic/messages-shape.ts'
import { checkedBy } from './checked-by.ts'
import type { Endpoint } from './endpoint.ts'

/**
 * The JSON types of the fields the gateway acts on, per endpoint: what it
 * routes, gates, estimates or reserves by. A field of another type is 400
 * naming it, before anything is reserved: a lax upstream reads `"true"` as
 * true and `"20"` as 20, so a `background: "true"` or a `best_of: "20"` the
 * gateway let pass as "not set" would run unrefused and unmetered. Only the
 * types are checked here (the values are policy: request-policy.ts, estimate.ts);
 * null stands for absent, as in OpenAI's API. Every other field (known to
 * OpenAI or not) passes unchecked, and the body goes upstream as the client's
 * bytes whatever is checked here.
 */
const tokenCount = z.number().int().nonnegative().nullish()
const anyObject = z.looseObject({})

/** A completions prompt or an embeddings input: it can hold millions of token ids. */
const textsOrTokenIds = checkedBy((value) =>
  isTextsOrTokenIds(value)
    ? null
    : 'a string, an array of strings, an array of token ids (integers), or an array of arrays of token ids',
)

const common = z.looseObject({
  // Checked as sent and forwarded as sent (model-access.ts says which names pass).
  model: z.string().refine(isModelName, MODEL_NAME_RULE),
  // These size the output reservation: a negative or absurd value must not reach the estimate.
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  max_output_tokens: tokenCount,
  n: z.number().int().min(1).max(128).nullish(),
  best_of: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  // Refused (background) or decided by the gateway's policy (store).
  background: z.boolean().nullish(),
  store: z.boolean().nullish(),
  // Hosted tools and service tiers need a plan feature (request-policy.ts): each tool names its type.
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.string(), anyObject]).nullish(),
  functions: z.array(anyObject).nullish(),
  web_search_options: anyObject.nullish(),
  service_tier: z.string().nullish(),
  modalities: z.array(z.string()).nullish(),
  // A service key acts for the user named here (auth/act-as.ts).
  user: z.string().nullish(),
})

/** Chat messages: the estimate frames each by its role and walks its content (estimate.ts). */
function chatMessagesProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'an array of message objects'
  for (let i = 0; i < value.length; i++) {
    const message: unknown = value[i]
    if (!isObject(message)) return `messages[${i}] must be an object`
    if (message.role !== undefined && typeof message.role !== 'string')
      return `messages[${i}].role must be a string`
    const content = message.content
    if (content == null || typeof content === 'string') continue
    if (!Array.isArray(content) || !content.every(isObject))
      return `messages[${i}].content must be a string, an array of content part objects, or null`
  }
  return null
}

/** Responses input: a string, or a list of item objects (messages, item references, outputs). */
function responsesInputProblem(value: unknown): string | null {
  if (typeof value === 'string') return null
  if (!Array.isArray(value)) return 'a string or an array of input item objects'
  for (let i = 0; i < value.length; i++) {
    if (!isObject(value[i])) return `input[${i}] must be an object`
  }
  return null
}

export const bodyShapes: Readonly<Record<Endpoint, z.ZodType<ProxyBodyShape>>> = {
  chat: common.extend({ messages: checkedBy(chatMessagesProblem) }),
  completions: common.extend({ prompt: textsOrTokenIds }),
  embeddings: common.extend({ input: textsOrTokenIds }),
  // Context the gateway cannot see is reserved for by these fields (estimate.ts).
  responses: common.extend({
    input: checkedBy(responsesInputProblem),
    previous_response_id: z.string().nullish(),
    conversation: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
    prompt: z.looseObject({ id: z.string() }).nullish(),
  }),
  messages: anthropicMessagesShape(common),
}

export type ProxyBodyShape = z.infer<typeof common> & Record<string, unknown>

function isTextsOrTokenIds(value: unknown): boolean {
  if (typeof value === 'string') return true
  if (!Array.isArray(value)) return false
  if (value.length === 0) return true
  const first: unknown = value[0]
  if (typeof first === 'string') return value.every((item) => typeof item === 'string')
  if (Array.isArray(first)) return value.every((item) => Array.isArray(item) && isTokenIds(item))
  return isTokenIds(value)
}

function isTokenIds(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (!Number.isInteger(list[i])) return false
  return true
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
