import { GatewayError } from '../../http/errors.ts'
import type { Endpoint } from './endpoint.ts'

type Body = Record<string, unknown>

/**
 * How many answers one request makes the upstream produce, each up to the
 * request's output ceiling: chat's `n`; completions' larger of `n` and
 * `best_of` (best_of candidates are generated and billed, n returned), times
 * one per prompt of a prompt list. The Responses API and embeddings produce one
 * (or none). Values that are not positive integers count as 1 here: their
 * types are the parser's to refuse, and the upstream refuses the rest.
 */
export interface AnswersAsked {
  total: number
  n: number
  bestOf: number
  prompts: number
}

export function answersAsked(endpoint: Endpoint, body: Body): AnswersAsked {
  if (endpoint !== 'chat' && endpoint !== 'completions') {
    return { total: 1, n: 1, bestOf: 1, prompts: 1 }
  }
  const n = positiveInt(body.n) ?? 1
  // Chat has no best_of: an upstream that takes one anyway produces that many.
  const bestOf = positiveInt(body.best_of) ?? 1
  const prompts = endpoint === 'completions' ? promptCount(body.prompt) : 1
  return { total: Math.max(n, bestOf) * prompts, n, bestOf, prompts }
}

/**
 * A 400 before anything is reserved when the request asks for more answers
 * than quota.maxAnswersPerRequest: one request's output is its answers times
 * its output ceiling, and the overshoot bound of settled output admission
 * (docs/quotas.md) is a multiple of it. The parameter named is the one that
 * asks the most (n, best_of, or prompt for a list of prompts).
 */
export function refuseTooManyAnswers(endpoint: Endpoint, body: Body, maxAnswers: number) {
  const asked = answersAsked(endpoint, body)
  if (asked.total <= maxAnswers) return
  const param =
    asked.prompts >= Math.max(asked.n, asked.bestOf)
      ? 'prompt'
      : asked.bestOf > asked.n
        ? 'best_of'
        : 'n'
  const parts = [
    asked.n > 1 ? `n ${asked.n}` : '',
    asked.bestOf > 1 ? `best_of ${asked.bestOf}` : '',
    asked.prompts > 1 ? `${asked.prompts} prompts` : '',
  ].filter(Boolean)
  throw new GatewayError(
    'invalid_request',
    `This request asks for ${asked.total} answers (${parts.join(', ')}); this gateway allows at most ${maxAnswers} per request`,
    { param },
  )
}

/** A completions prompt: a string or a token list is one prompt; a list of strings or of token lists, one each. */
function promptCount(prompt: unknown): number {
  if (!Array.isArray(prompt) || prompt.length === 0 || typeof prompt[0] === 'number') return 1
  return prompt.length
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}
