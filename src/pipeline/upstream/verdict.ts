import type { IncomingHttpHeaders } from 'node:http'
import type { UpstreamResponse } from './forward.ts'
import type { FailureKind } from './key-health.ts'

/**
 * What an upstream answer means for the request and for the key that got it:
 * - `answer`: a 2xx (or 3xx), the body unread: it goes to the client.
 * - `client_error`: the client's own bad request (400, 404, 413, 422...): it passes through as
 *   the upstream wrote it, since another deployment would refuse it too.
 * - `failure`: the key's or the upstream's trouble, never the payer's: a 429 rate limit, the
 *   operator's `insufficient_quota` (OpenAI says it with a 429 too), 401/402/403 (the key), a
 *   408 or 5xx. Another deployment may answer; the payer never sees this body.
 */
export type Verdict =
  | { kind: 'answer' }
  | { kind: 'client_error'; body: Buffer }
  | {
      kind: 'failure'
      failure: FailureKind
      status: number
      body: Buffer
      retryAfterMs: number | null
    }

export async function judge(response: UpstreamResponse, now: number): Promise<Verdict> {
  const status = response.statusCode
  if (status < 400) return { kind: 'answer' }
  const body = Buffer.from(await response.body.arrayBuffer().catch(() => new ArrayBuffer(0)))
  const failure = failureOf(status, body)
  if (failure === null) return { kind: 'client_error', body }
  const retryAfterMs = failure === 'rate_limited' ? retryAfter(response.headers, now) : null
  return { kind: 'failure', failure, status, body, retryAfterMs }
}

function failureOf(status: number, body: Buffer): FailureKind | null {
  if (status === 429) return isInsufficientQuota(body) ? 'credit' : 'rate_limited'
  if (status === 401 || status === 403) return 'auth'
  // 402 Payment Required: how several OpenAI-compatible providers say the account is empty.
  if (status === 402) return 'credit'
  if (status === 408 || status >= 500) return 'server_error'
  if (status === 400 && isAccountLimit(body)) return 'credit'
  return null
}

/**
 * Anthropic says the operator's account is empty, or over its own spend limit, with a 400
 * `invalid_request_error` (docs/reference/anthropic.md, errors): passed through, the payer
 * would read the operator's billing as a fault of their request.
 */
const ACCOUNT_LIMIT = /credit balance is too low|reached your specified API usage limits/i
function isAccountLimit(body: Buffer): boolean {
  return body.length < 16_384 && ACCOUNT_LIMIT.test(body.toString('utf8'))
}

/** OpenAI's "You exceeded your current quota": the operator's credit, not the payer's plan. */
function isInsufficientQuota(body: Buffer): boolean {
  if (!body.includes('insufficient_quota')) return false
  try {
    const error = (JSON.parse(body.toString('utf8')) as { error?: Record<string, unknown> }).error
    return error?.code === 'insufficient_quota' || error?.type === 'insufficient_quota'
  } catch {
    return false
  }
}

/** `retry-after-ms` (OpenAI's, milliseconds), else `retry-after` in seconds or as an HTTP date. */
export function retryAfter(headers: IncomingHttpHeaders, now: number): number | null {
  const ms = Number(one(headers['retry-after-ms']))
  if (one(headers['retry-after-ms']) !== undefined && Number.isFinite(ms) && ms >= 0)
    return Math.ceil(ms)
  const raw = one(headers['retry-after'])?.trim()
  if (!raw) return null
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number(raw) * 1000)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
