import { setTimeout as delay } from 'node:timers/promises'
import { Agent, type Dispatcher, request } from 'undici'
import type { z } from 'zod'
import type { Logger } from '../lib/logger.ts'
import { YooKassaError } from './errors.ts'
import { errorBodySchema } from './schemas.ts'

export interface TransportOptions {
  /** Base URL, e.g. https://api.yookassa.ru/v3 (a fake on 127.0.0.1 in tests). */
  apiUrl: string
  shopId: string
  secretKey: string
  /** Per attempt: connect + headers + body. */
  timeoutMs: number
  /** Attempts per logical call for outcomes that may change (500, 202, timeout). */
  maxAttempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  logger?: Logger
}

export interface CallOptions {
  body?: unknown
  /** Required on every POST (docs/reference/yookassa.md 1.3); the caller persisted it before the call. */
  idempotenceKey?: string
  /** Overrides maxAttempts, e.g. 1 for the webhook's GET (YooKassa redelivers anyway). */
  attempts?: number
}

export interface Transport {
  call<T extends z.ZodType>(
    schema: T,
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    options?: CallOptions,
  ): Promise<z.output<T>>
  close(): Promise<void>
}

const IDEMPOTENCE_KEY = /^[0-9a-zA-Z+\-_.]{1,64}$/

/**
 * HTTP to YooKassa over one undici Agent. A POST is repeated only with the
 * same body and the same Idempotence-Key, so a retry can never create a second
 * payment or refund: YooKassa replays the first outcome (docs/reference/yookassa.md 1.3, 1.4).
 */
export function createTransport(options: TransportOptions): Transport {
  const base = options.apiUrl.replace(/\/+$/, '')
  const authorization = `Basic ${Buffer.from(`${options.shopId}:${options.secretKey}`).toString('base64')}`
  const maxAttempts = options.maxAttempts ?? 3
  const baseDelayMs = options.baseDelayMs ?? 500
  const maxDelayMs = options.maxDelayMs ?? 5_000
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined))
  const agent = new Agent({
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  })

  async function once(operation: string, method: string, path: string, call: CallOptions) {
    const headers: Record<string, string> = { authorization, accept: 'application/json' }
    let body: string | undefined
    if (method === 'POST') {
      if (!call.idempotenceKey || !IDEMPOTENCE_KEY.test(call.idempotenceKey)) {
        throw new Error(`YooKassa ${operation}: a valid Idempotence-Key is required on POST`)
      }
      headers['idempotence-key'] = call.idempotenceKey
      headers['content-type'] = 'application/json'
      body = JSON.stringify(call.body ?? {})
    }
    let response: Dispatcher.ResponseData
    let text: string
    try {
      response = await request(`${base}${path}`, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      text = await response.body.text()
    } catch (cause) {
      const code = isTimeout(cause) ? 'timeout' : 'network_error'
      throw new YooKassaError({ status: null, code, operation, cause })
    }
    return { status: response.statusCode, text }
  }

  return {
    async call(schema, operation, method, path, call = {}) {
      const attempts = Math.max(1, call.attempts ?? maxAttempts)
      for (let attempt = 1; ; attempt++) {
        const started = Date.now()
        let error: YooKassaError
        try {
          const { status, text } = await once(operation, method, path, call)
          options.logger?.debug(
            { operation, status, attempt, ms: Date.now() - started },
            'YooKassa call',
          )
          if (status === 200) return parseBody(schema, operation, text)
          error = errorFrom(operation, status, text)
        } catch (caught) {
          if (!(caught instanceof YooKassaError)) throw caught
          error = caught
        }
        // 4xx (429 included) is final for this request; 500, 202 and no answer are unknown outcomes.
        const retryable = error.status === null || error.status >= 500 || error.status === 202
        if (!retryable || attempt >= attempts) throw error
        const wait = Math.min(maxDelayMs, error.retryAfterMs ?? baseDelayMs * 2 ** (attempt - 1))
        options.logger?.warn(
          { operation, status: error.status, code: error.code, attempt, retry_in_ms: wait },
          'BILLING YooKassa call will be retried with the same Idempotence-Key',
        )
        await sleep(wait)
      }
    },
    close: () => agent.close(),
  }
}

function parseBody<T extends z.ZodType>(schema: T, operation: string, text: string): z.output<T> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  // Treated like a 500: the outcome is unknown to us, a replay with the same key is safe.
  throw new YooKassaError({
    status: 502,
    code: 'invalid_response',
    description: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    operation,
  })
}

function errorFrom(operation: string, status: number, text: string): YooKassaError {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const parsed = errorBodySchema.safeParse(json)
  if (!parsed.success) {
    // Legacy 202 bodies are {"type":"processing","retry_after":...}: keep the hint.
    const hint = (json as { retry_after?: unknown } | undefined)?.retry_after
    return new YooKassaError({
      status,
      code: status === 202 ? 'processing' : 'http_error',
      retryAfterMs: typeof hint === 'number' ? hint : null,
      operation,
    })
  }
  const { code, description, parameter, retry_after } = parsed.data
  return new YooKassaError({
    status,
    code,
    description,
    parameter,
    retryAfterMs: retry_after,
    operation,
  })
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string; code?: string })?.name
  const code = (error as { code?: string })?.code
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
}
