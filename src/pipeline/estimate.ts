import type { Config } from '../config/schema.ts'
import { counterForModel } from './tokenizer.ts'

/** The proxied endpoints, by the shape of their bodies. */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses'

type Body = Record<string, unknown>

/*
 * OpenAI's chat format (openai-cookbook "How to count tokens with tiktoken"):
 * every message costs 3 tokens of framing plus its role (1 token for every
 * role name in use), a name 1 more, and the reply is primed with 3.
 */
const PER_MESSAGE = 4
const PER_NAME = 1
const REPLY_PRIMING = 3
/** An image part's cost at `detail: low`; the upstream's usage settles the truth. */
const IMAGE_TOKENS = 85

/**
 * Estimates the prompt's tokens with the model family's tokenizer. Texts are
 * joined and counted once: one tokenizer call per request, whatever the
 * number of messages, and bounded in time for long prompts.
 */
export function estimateInputTokens(endpoint: Endpoint, model: string, body: Body): number {
  const texts: string[] = []
  let fixed = 0
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? body.messages : []
    fixed += REPLY_PRIMING + PER_MESSAGE * messages.length
    for (const message of messages) {
      if (!isObject(message)) continue
      if (typeof message.name === 'string') {
        fixed += PER_NAME
        texts.push(message.name)
      }
      fixed += collect(message.content, texts)
      if (message.tool_calls !== undefined) texts.push(JSON.stringify(message.tool_calls))
      if (message.function_call !== undefined) texts.push(JSON.stringify(message.function_call))
    }
    if (body.tools !== undefined) texts.push(JSON.stringify(body.tools))
    if (body.functions !== undefined) texts.push(JSON.stringify(body.functions))
  } else if (endpoint === 'responses') {
    if (typeof body.instructions === 'string') texts.push(body.instructions)
    if (Array.isArray(body.input)) fixed += PER_MESSAGE * body.input.length
    fixed += collect(body.input, texts)
    if (body.tools !== undefined) texts.push(JSON.stringify(body.tools))
  } else {
    // completions: prompt (+ suffix); embeddings: input. Strings, or arrays of token ids.
    fixed += collect(endpoint === 'completions' ? body.prompt : body.input, texts)
    if (endpoint === 'completions' && typeof body.suffix === 'string') texts.push(body.suffix)
  }
  if (texts.length === 0) return fixed
  const text = texts.length === 1 ? texts[0]! : texts.join('\n')
  return fixed + counterForModel(model)(text)
}

/**
 * Output tokens to reserve: the request's own ceiling (max_completion_tokens,
 * max_tokens, or max_output_tokens for the Responses API) clamped to
 * quota.maxOutputReserve, else quota.defaultOutputReserve; times the number
 * of answers the request asks for (n, best_of, one per prompt).
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
      : (positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens))
  const each = Math.min(asked ?? quota.defaultOutputReserve, quota.maxOutputReserve)
  if (endpoint === 'responses') return each
  let answers = Math.max(positiveInt(body.n) ?? 1, positiveInt(body.best_of) ?? 1)
  if (
    endpoint === 'completions' &&
    Array.isArray(body.prompt) &&
    typeof body.prompt[0] !== 'number'
  ) {
    answers *= Math.max(body.prompt.length, 1)
  }
  return each * answers
}

/**
 * Gathers the text of a content value into `texts`; returns the tokens known
 * without tokenizing (token-id arrays, images). Understands strings, arrays of
 * them, OpenAI content parts and Responses input items; other keys are ignored.
 */
function collect(value: unknown, texts: string[]): number {
  if (typeof value === 'string') {
    texts.push(value)
    return 0
  }
  if (!Array.isArray(value)) {
    if (!isObject(value)) return 0
    const type = typeof value.type === 'string' ? value.type : ''
    if (type.includes('image')) return IMAGE_TOKENS
    let fixed = 0
    for (const key of TEXT_KEYS) if (value[key] !== undefined) fixed += collect(value[key], texts)
    return fixed
  }
  if (value.length > 0 && typeof value[0] === 'number') return value.length
  let fixed = 0
  for (const item of value) fixed += collect(item, texts)
  return fixed
}

const TEXT_KEYS = ['text', 'content', 'input', 'output', 'arguments', 'refusal'] as const

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
