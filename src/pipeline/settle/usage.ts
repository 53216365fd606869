import { anthropicInputTokens } from '../anthropic/usage.ts'

/**
 * Token usage as an upstream reports it, in either dialect: Chat Completions,
 * Completions and Embeddings say prompt_tokens / completion_tokens, the
 * Responses API and Anthropic's Messages API input_tokens / output_tokens. Values are kept as received and
 * checked by validUsage before anything is credited.
 */
export interface RawUsage {
  input: unknown
  output: unknown
  /**
   * The input is final but the output is not yet (an Anthropic stream before its
   * message_delta): the settle bills the larger of it and the output counted.
   */
  outputPending?: boolean
}

export function readUsage(value: unknown): RawUsage | null {
  if (typeof value !== 'object' || value === null) return null
  const usage = value as Record<string, unknown>
  if ('prompt_tokens' in usage)
    return { input: usage.prompt_tokens, output: usage.completion_tokens ?? 0 }
  // Anthropic's input comes in three exclusive classes (cache writes and reads apart): all billed.
  if ('input_tokens' in usage)
    return { input: anthropicInputTokens(usage), output: usage.output_tokens ?? 0 }
  return null
}

/** Integers from 0 to `max`, or null: negative, fractional or absurd usage is never credited. */
export function validUsage(usage: RawUsage, max: number): { input: number; output: number } | null {
  const { input, output } = usage
  if (!isCount(input, max) || !isCount(output, max)) return null
  return { input, output }
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
