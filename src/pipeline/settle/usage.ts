import {
  noClasses,
  TOKEN_CLASSES,
  type TokenClass,
  type TokenClasses,
} from '../../ledger/amounts.ts'

export type { TokenClass, TokenClasses }

/**
 * Token usage as an upstream reports it, in every dialect: Chat Completions,
 * Completions and Embeddings say prompt_tokens / completion_tokens, the
 * Responses API input_tokens / output_tokens, Anthropic's Messages API
 * input_tokens / output_tokens plus its cache counts. Values are kept as
 * received and checked by validUsage before anything is credited.
 *
 * `input` and `output` are always the totals, every class included. The
 * classes within them (`details`) are subsets: OpenAI reports them so already
 * (cached_tokens is part of prompt_tokens, reasoning_tokens of
 * completion_tokens); Anthropic's cache counts are NOT part of its
 * input_tokens, so anthropicUsage adds them to `input` here, once.
 */
export interface RawUsage {
  input: unknown
  output: unknown
  /**
   * The input is final but the output is not yet (an Anthropic stream before its
   * message_delta): the settle bills the larger of it and the output counted.
   */
  outputPending?: boolean
  /** The classes the upstream reported, each within its total; absent when it reported none. */
  details?: Partial<Record<TokenClass, unknown>>
  /**
   * The image tokens within the input (`details.image` sums the input's and the output's): they
   * have a price of their own (docs/weights.md), the output's image tokens cost the output's.
   */
  imageInput?: unknown
}

/** What a usage credits, checked: the totals and their classes, integers (0: not reported). */
export interface CountedUsage {
  input: number
  output: number
  classes: TokenClasses
  /** The image tokens within the input, priced apart (0 or absent: none). */
  imageInput?: number
}

type Fields = Record<string, unknown>
const object = (value: unknown): Fields | undefined =>
  typeof value === 'object' && value !== null ? (value as Fields) : undefined

/** The usage object of any dialect (see RawUsage), or null when it is none. */
export function readUsage(value: unknown): RawUsage | null {
  const usage = object(value)
  if (!usage) return null
  if ('prompt_tokens' in usage) {
    const input = object(usage.prompt_tokens_details)
    const output = object(usage.completion_tokens_details)
    return withImageInput(
      withDetails(usage.prompt_tokens, usage.completion_tokens ?? 0, {
        cachedInput: input?.cached_tokens,
        audioInput: input?.audio_tokens,
        reasoning: output?.reasoning_tokens,
        audioOutput: output?.audio_tokens,
        image: sumOfPresent(input?.image_tokens, output?.image_tokens),
      }),
      input?.image_tokens,
    )
  }
  if ('cache_read_input_tokens' in usage || 'cache_creation_input_tokens' in usage)
    return anthropicUsage(usage)
  if ('input_tokens' in usage) {
    const input = object(usage.input_tokens_details) ?? object(usage.input_token_details)
    const output = object(usage.output_tokens_details)
    return withImageInput(
      withDetails(usage.input_tokens, usage.output_tokens ?? 0, {
        cachedInput: input?.cached_tokens,
        cacheWrite: input?.cache_write_tokens,
        audioInput: input?.audio_tokens,
        reasoning: output?.reasoning_tokens,
        image: sumOfPresent(input?.image_tokens, output?.image_tokens),
      }),
      input?.image_tokens,
    )
  }
  return null
}

/**
 * An Anthropic Messages `usage` object (a JSON answer's, or the merged usage of
 * a stream's message_start and message_delta, output_tokens being cumulative)
 * as the ledger's RawUsage: `input` = input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens (Anthropic counts the three apart; its
 * input_tokens are only those after the last cache breakpoint), with
 * cachedInput = cache_read_input_tokens and cacheWrite =
 * cache_creation_input_tokens within it. Null when `value` is no usage object.
 * For the Messages route: pass the result to the request's settle as any
 * other dialect's usage; weights apply per class (docs/weights.md).
 */
export function anthropicUsage(value: unknown): RawUsage | null {
  const usage = object(value)
  if (!usage || !('input_tokens' in usage)) return null
  const read = usage.cache_read_input_tokens ?? 0
  const write = usage.cache_creation_input_tokens ?? 0
  const parts = [usage.input_tokens, read, write]
  // A part that is no count stays as it came, so validUsage refuses the whole usage.
  const bad = parts.find((part) => typeof part !== 'number')
  const input = bad === undefined ? (parts as number[]).reduce((a, b) => a + b, 0) : bad
  return withDetails(input, usage.output_tokens ?? 0, { cachedInput: read, cacheWrite: write })
}

function withDetails(
  input: unknown,
  output: unknown,
  details: Partial<Record<TokenClass, unknown>>,
): RawUsage {
  const reported = Object.entries(details).filter(([, value]) => value !== undefined && value !== 0)
  if (reported.length === 0) return { input, output }
  return { input, output, details: Object.fromEntries(reported) }
}

function withImageInput(usage: RawUsage, imageInput: unknown): RawUsage {
  return imageInput === undefined || imageInput === 0 ? usage : { ...usage, imageInput }
}

function sumOfPresent(a: unknown, b: unknown): unknown {
  if (a === undefined) return b
  if (b === undefined) return a
  return typeof a === 'number' && typeof b === 'number' ? a + b : a
}

/**
 * Integers from 0 to `max`, or null: negative, fractional or absurd totals are
 * never credited. A class that is no such count, or that would not fit in its
 * total with the classes before it, counts 0: its tokens stay in the total,
 * billed at the total's weight (today's behaviour), never twice.
 */
export function validUsage(usage: RawUsage, max: number): CountedUsage | null {
  const { input, output, details } = usage
  if (!isCount(input, max) || !isCount(output, max)) return null
  const classes = noClasses()
  if (!details) return { input, output, classes }
  let inputLeft = input
  let outputLeft = output
  for (const name of TOKEN_CLASSES) {
    const value = details[name]
    if (!isCount(value, max)) continue
    if (name === 'image') {
      if (value <= input + output) classes.image = value
    } else if (name === 'reasoning' || name === 'audioOutput') {
      if (value <= outputLeft) outputLeft -= classes[name] = value
    } else if (value <= inputLeft) inputLeft -= classes[name] = value
  }
  // Priced apart only when it fits in what the other input classes left, as a class.
  const imageInput = usage.imageInput
  if (isCount(imageInput, max) && imageInput > 0 && imageInput <= inputLeft)
    return { input, output, classes, imageInput }
  return { input, output, classes }
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/**
 * The `usage` member of the answer's own top-level object, never an object of
 * that name nested in echoed content (a tool's schema, metadata, an upstream
 * that echoes the request). The top-level members are walked backwards from
 * the closing brace: OpenAI puts usage near the end (chat: before
 * service_tier and system_fingerprint; Responses: before user and metadata;
 * embeddings: last), so the walk reads a few hundred bytes whatever the size.
 * JSON.parse of the whole body would be as exact but costs 107 ms on a 3.2 MB
 * float embeddings answer (100 x 1536) against 2-5 us for this walk; on a
 * 1 KB indented chat answer the walk takes about 10 us, JSON.parse 7-10 us
 * (measured here on a loaded 2-core machine).
 */
export function usageFromJsonBody(body: Buffer): RawUsage | null {
  let at = spaceBack(body, body.length - 1)
  if (body[at] !== CLOSE_BRACE) return null
  at = spaceBack(body, at - 1)
  while (at > 0 && body[at] !== OPEN_BRACE) {
    const valueEnd = at
    const valueStart = valueStartBack(body, at)
    at = spaceBack(body, valueStart - 1)
    if (valueStart < 0 || body[at] !== COLON) return null
    const keyEnd = spaceBack(body, at - 1)
    const keyStart = body[keyEnd] === QUOTE ? stringStartBack(body, keyEnd) : -1
    if (keyStart < 0) return null
    if (isUsageKey(body, keyStart, keyEnd)) {
      try {
        return readUsage(JSON.parse(body.toString('utf8', valueStart, valueEnd + 1)))
      } catch {
        return null
      }
    }
    at = spaceBack(body, keyStart - 1)
    if (body[at] !== COMMA) return null
    at = spaceBack(body, at - 1)
  }
  return null
}

const USAGE = Buffer.from('"usage"')

/** `"usage"`, however escaped (`"\u0075sage"` is the same key to a JSON parser). */
function isUsageKey(body: Buffer, start: number, end: number): boolean {
  if (end - start === USAGE.length - 1)
    return body.compare(USAGE, 0, USAGE.length, start, end + 1) === 0
  if (end - start > 40 || body.indexOf(BACKSLASH, start) > end) return false
  try {
    return JSON.parse(body.toString('utf8', start, end + 1)) === 'usage'
  } catch {
    return false
  }
}

function spaceBack(body: Buffer, from: number): number {
  let i = from
  while (i >= 0 && isSpace(body[i])) i--
  return i
}

/** Where the JSON value ending at `end` starts (-1 when malformed). */
function valueStartBack(body: Buffer, end: number): number {
  const last = body[end]
  if (last === QUOTE) return stringStartBack(body, end)
  if (last !== CLOSE_BRACE && last !== CLOSE_BRACKET) {
    let i = end
    while (i >= 0 && !isSpace(body[i]) && !isDelimiter(body[i])) i--
    return i + 1
  }
  let depth = 0
  for (let i = end; i >= 0; i--) {
    const byte = body[i]
    if (byte === QUOTE) i = stringStartBack(body, i)
    else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth++
    else if ((byte === OPEN_BRACE || byte === OPEN_BRACKET) && --depth === 0) return i
    if (i < 0) return -1
  }
  return -1
}

/** The opening quote of the string whose closing quote is at `close`: the previous unescaped quote. */
function stringStartBack(body: Buffer, close: number): number {
  let i = close - 1
  while (i >= 0) {
    i = body.lastIndexOf(QUOTE, i)
    if (i < 0) return -1
    let slashes = 0
    while (body[i - 1 - slashes] === BACKSLASH) slashes++
    if (slashes % 2 === 0) return i
    i--
  }
  return -1
}

function isDelimiter(byte: number | undefined): boolean {
  return byte === COMMA || byte === COLON || byte === OPEN_BRACE || byte === OPEN_BRACKET
}
function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}
