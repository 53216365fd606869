/**
 * Token usage as an upstream reports it, in either dialect: Chat Completions,
 * Completions and Embeddings say prompt_tokens / completion_tokens, the
 * Responses API input_tokens / output_tokens. Values are kept as received and
 * checked by validUsage before anything is credited.
 */
export interface RawUsage {
  input: unknown
  output: unknown
}

export function readUsage(value: unknown): RawUsage | null {
  if (typeof value !== 'object' || value === null) return null
  const usage = value as Record<string, unknown>
  if ('prompt_tokens' in usage)
    return { input: usage.prompt_tokens, output: usage.completion_tokens ?? 0 }
  if ('input_tokens' in usage)
    return { input: usage.input_tokens, output: usage.output_tokens ?? 0 }
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

const USAGE_KEY = Buffer.from('"usage"')

/**
 * The usage object of a JSON answer, found without parsing the whole body:
 * embeddings answers are megabytes of floats and usage sits at the end. The
 * last `"usage"` key whose value is an object is cut out and parsed alone. A
 * `"usage"` with its quotes unescaped can only be a key, never string content.
 */
export function usageFromJsonBody(body: Buffer): RawUsage | null {
  let at = body.lastIndexOf(USAGE_KEY)
  while (at !== -1) {
    const open = objectStart(body, at + USAGE_KEY.length)
    if (open !== -1) {
      const close = matchingBrace(body, open)
      if (close === -1) return null
      try {
        return readUsage(JSON.parse(body.toString('utf8', open, close + 1)))
      } catch {
        return null
      }
    }
    at = at === 0 ? -1 : body.lastIndexOf(USAGE_KEY, at - 1)
  }
  return null
}

function objectStart(body: Buffer, from: number): number {
  let i = from
  while (isSpace(body[i])) i++
  if (body[i] !== 0x3a) return -1
  i++
  while (isSpace(body[i])) i++
  return body[i] === 0x7b ? i : -1
}

function matchingBrace(body: Buffer, open: number): number {
  let depth = 0
  let inString = false
  for (let i = open; i < body.length; i++) {
    const byte = body[i]
    if (inString) {
      if (byte === 0x5c) i++
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) inString = true
    else if (byte === 0x7b) depth++
    else if (byte === 0x7d && --depth === 0) return i
  }
  return -1
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}
