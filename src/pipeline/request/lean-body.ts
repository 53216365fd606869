import type { Endpoint } from './endpoint.ts'

type Body = Record<string, unknown>

/*
 * A large body is parsed, checked and estimated off the event loop
 * (token-pool.ts); what comes back to the loop is its lean form: the fields the
 * gateway acts on after the estimate, without the bulk. Copying a whole parsed
 * body between threads costs as much as parsing it (200,000 small messages:
 * about a second), so messages, input, instructions, schemas and the like stay
 * in the worker, and the estimate and the stored-object references they hold
 * come back as values of their own.
 *
 * Every reader of a lean body reads only these fields (admission/, input-reserve.ts,
 * request-policy.ts, answers.ts, stored-objects.ts, parse.ts, act-as.ts): a new
 * reader of another field must add it here, or a large body would look as if
 * it had none.
 */
const KEPT: ReadonlySet<string> = new Set([
  'model',
  'stream',
  'stream_options',
  'n',
  'best_of',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'background',
  'store',
  'user',
  'service_tier',
  'web_search_options',
  'modalities',
  'audio',
  // Anthropic's thinking budget sizes the output reserve (estimate.ts).
  'thinking',
  // An Anthropic container: its stream's ids are read (stored-objects.ts).
  'container',
])

/** A kept value larger than this many strings, numbers and containers is cut to an empty one of its kind. */
const MAX_KEPT_NODES = 1_000
/** Kept strings longer than this become empty: no kept field is read for its text. */
const MAX_KEPT_STRING = 1_024

export function leanBody(endpoint: Endpoint, body: Body): Body {
  const lean: Body = {}
  for (const key in body) {
    const value = body[key]
    if (KEPT.has(key)) lean[key] = bounded(value)
    else if (key === 'tools' && Array.isArray(value)) lean.tools = value.map(toolType)
    else if (key === 'prompt' && endpoint === 'completions') lean.prompt = promptShape(value)
  }
  return lean
}

/** A tool as grantExtras reads it: its type alone. */
function toolType(tool: unknown): Body {
  const type = typeof tool === 'object' && tool !== null ? (tool as Body).type : undefined
  return { type: typeof type === 'string' ? type.slice(0, MAX_KEPT_STRING) : type }
}

/** What answers.ts reads of a completions prompt: a string or token list is one, a list one each. */
function promptShape(prompt: unknown): unknown {
  if (!Array.isArray(prompt)) return typeof prompt === 'string' ? '' : prompt
  if (typeof prompt[0] === 'number') return [0]
  return prompt.map((item) => (Array.isArray(item) ? [] : ''))
}

function bounded(value: unknown): unknown {
  const budget = { nodes: MAX_KEPT_NODES }
  const copy = copyWithin(value, budget)
  if (budget.nodes >= 0) return copy
  return Array.isArray(value) ? [] : typeof value === 'object' && value !== null ? {} : copy
}

function copyWithin(value: unknown, budget: { nodes: number }): unknown {
  budget.nodes--
  if (budget.nodes < 0) return null
  if (typeof value === 'string') return value.length > MAX_KEPT_STRING ? '' : value
  if (Array.isArray(value)) return value.map((item) => copyWithin(item, budget))
  if (typeof value === 'object' && value !== null) {
    const copy: Body = {}
    for (const key in value) copy[key] = copyWithin((value as Body)[key], budget)
    return copy
  }
  return value
}
