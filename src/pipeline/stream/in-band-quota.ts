import type { Amounts, Metric } from '../../ledger/amounts.ts'
import type { Admission } from '../admission/admit.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { StreamMeter } from './stream-body.ts'

/**
 * The quota left, delivered in the answer itself, for clients that ask
 * (`x-gateway-quota: include`): a client that streams sees what the request
 * cost and what is left when the answer ends, with no second call.
 *
 * - A stream gets an SSE comment line, `: x-gateway {...}`, before its
 *   `data: [DONE]` (at its end when it has none: Responses). Every SSE parser
 *   skips comment lines (the SSE spec), so no client sees a change it did not ask for.
 * - A Chat Completions stream also gets an `x_gateway` member in its final usage
 *   chunk (the one with `"choices": []`), where a client that reads usage finds it.
 * - A non-stream answer gets the `x_gateway` member in its JSON body.
 *
 * The figures are the ones the settle credits: the cost is in the quota's
 * units (weighted tokens, as the counters count them), the remaining quota is
 * what the period has left after this request (null: unlimited), and `reset`
 * is the period's end (Unix seconds), as the `x-quota-*` headers say.
 */
export const IN_BAND_HEADER = 'x-gateway-quota'

export function wantsInBandQuota(headerValue: string | undefined): boolean {
  return headerValue !== undefined && /^(include|1|true|yes)$/i.test(headerValue.trim())
}

export interface InBandReport {
  cost: Amounts
  remaining: Record<Metric, number | null>
  reset: number
}

const METRICS: readonly Metric[] = ['requests', 'tokens_input', 'tokens_output']

/** What the answer reports once `credited` is known: the reservation replaced by the credit. */
export function inBandReport(admission: Admission, credited: Amounts): InBandReport {
  const remaining = {} as Record<Metric, number | null>
  for (const metric of METRICS) {
    const left = admission.remaining[metric]
    remaining[metric] =
      left === null ? null : Math.max(0, left + admission.reserved[metric] - credited[metric])
  }
  return { cost: credited, remaining, reset: admission.periodEnd }
}

/** A JSON answer with `x_gateway` added; the bytes unchanged when they are not a JSON object. */
export function withInBandJson(
  bytes: Buffer<ArrayBuffer>,
  report: InBandReport,
): Buffer<ArrayBuffer> {
  let body: unknown
  try {
    body = JSON.parse(bytes.toString('utf8'))
  } catch {
    return bytes
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return bytes
  return Buffer.from(JSON.stringify({ ...body, x_gateway: report }))
}

const DONE = Buffer.from('data: [DONE]')
const USAGE_OBJECT = /"usage"\s*:\s*\{/
/** The usage-only chunk (`"choices": []`): a stream that reports usage on every chunk is not held. */
const NO_CHOICES = /"choices"\s*:\s*\[\s*\]/

/**
 * Wraps the stream's meter: the answer passes as it comes, line by line (the
 * meter passes bytes as the network cut them, so an unfinished last line waits
 * for its line break: no SSE client acts on half a line anyway). From the usage
 * chunk (Chat Completions) or `data: [DONE]` on, the last event or two are held
 * until the upstream's end, when `settleNow` credits the request and the report
 * is written into them. A client that leaves before the end never receives the
 * held bytes; its bill does not depend on them.
 */
export function inBandMeter(
  meter: StreamMeter,
  endpoint: Endpoint,
  settleNow: () => InBandReport,
): StreamMeter {
  // Kept as the chunks came and joined once: a long line (a partial image of megabytes) is
  // never copied again with each of its chunks.
  let held: Buffer[] | null = null
  let unfinished: Buffer[] = []
  return {
    push(chunk) {
      const out = meter.push(chunk)
      if (held) {
        held.push(out)
        return EMPTY
      }
      if (lastLineBreak(out) < 0) {
        if (out.length > 0) unfinished.push(out)
        return EMPTY
      }
      const bytes = unfinished.length > 0 ? Buffer.concat([...unfinished, out]) : out
      const lines = lastLineBreak(bytes) + 1
      const complete = bytes.subarray(0, lines)
      const from = holdFrom(complete, endpoint)
      if (from < 0) {
        unfinished = lines < bytes.length ? [bytes.subarray(lines)] : []
        return complete
      }
      held = [bytes.subarray(from)]
      unfinished = []
      return complete.subarray(0, from)
    },
    end() {
      const rest = Buffer.concat([...(held ?? unfinished), meter.end()])
      return withReport(rest, endpoint, settleNow())
    },
  }
}

function lastLineBreak(bytes: Buffer): number {
  return Math.max(bytes.lastIndexOf(0x0a), bytes.lastIndexOf(0x0d))
}

const EMPTY = Buffer.alloc(0)

/** Where to start holding in a block of whole lines: the usage chunk's line or [DONE]'s; -1: none. */
function holdFrom(block: Buffer, endpoint: Endpoint): number {
  let from = -1
  if (endpoint === 'chat') {
    const text = block.toString('latin1')
    const match = USAGE_OBJECT.exec(text)
    if (match && NO_CHOICES.test(text.slice(lineStart(block, match.index)))) {
      from = lineStart(block, match.index)
    }
  }
  const done = indexAtLineStart(block, DONE)
  if (done >= 0 && (from < 0 || done < from)) from = done
  return from
}

function withReport(tail: Buffer, endpoint: Endpoint, report: InBandReport): Buffer {
  const comment = Buffer.from(`: x-gateway ${JSON.stringify(report)}\n\n`)
  let text = tail
  if (endpoint === 'chat') text = withUsageMember(text, report)
  const done = indexAtLineStart(text, DONE)
  if (done >= 0) return Buffer.concat([text.subarray(0, done), comment, text.subarray(done)])
  const ending = text.length === 0 || text.at(-1) === 0x0a ? EMPTY : Buffer.from('\n\n')
  return Buffer.concat([text, ending, comment])
}

/** The usage chunk's `data:` line with `x_gateway` added (parsed once a stream, at its end). */
function withUsageMember(tail: Buffer, report: InBandReport): Buffer {
  const text = tail.toString('utf8')
  const lines = text.split(/(\r\n|\r|\n)/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (!line.startsWith('data:') || !USAGE_OBJECT.test(line)) continue
    try {
      const event = JSON.parse(line.slice(5)) as Record<string, unknown>
      if (!event || typeof event !== 'object' || !event.usage) continue
      lines[i] = `data: ${JSON.stringify({ ...event, x_gateway: report })}`
      return Buffer.from(lines.join(''))
    } catch {}
  }
  return tail
}

function lineStart(block: Buffer, index: number): number {
  for (let i = index - 1; i >= 0; i--) {
    const byte = block[i]
    if (byte === 0x0a || byte === 0x0d) return i + 1
  }
  return 0
}

function indexAtLineStart(block: Buffer, needle: Buffer): number {
  for (let at = block.indexOf(needle); at >= 0; at = block.indexOf(needle, at + 1)) {
    if (at === 0 || block[at - 1] === 0x0a || block[at - 1] === 0x0d) return at
  }
  return -1
}
