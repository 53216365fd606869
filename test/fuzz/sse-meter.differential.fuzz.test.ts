import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { textOfSse } from '../../src/pipeline/estimate/output-text.ts'
import { readUsage } from '../../src/pipeline/settle/usage.ts'
import type { DeliveredLimits } from '../../src/pipeline/stream/delivered-output.ts'
import { createSseMeter } from '../../src/pipeline/stream/sse-meter.ts'
import { cutAt } from '../helpers/chunks.ts'

/*
 * The SSE meter scans bytes and parses only the lines a byte search points
 * at. Here it is checked against the straightforward meter it replaces: split
 * the whole stream into lines, JSON.parse every data line. Streams shaped like
 * recorded OpenAI ones (Chat Completions with include_usage, Responses), with
 * what trips a byte scanner (multi-byte UTF-8, keys and text that contain
 * `usage"` or `sequence_number"`, escaped quotes, comments, multi-line data,
 * LF / CRLF / CR), cut at arbitrary byte offsets: inside `data:`, inside a
 * UTF-8 sequence, inside the JSON. Usage, last sequence number, the bytes the
 * client gets and the text a disconnect would count must be the reference's,
 * whether the delivered-output counter reads it at the end or in many pieces.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)

type Ending = '\n' | '\r\n' | '\r'

/** Text a model may write: anything, including what a byte scanner looks for. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom(
    'usage',
    '"usage"',
    '"usage": {',
    '"usage":null',
    'usage"',
    '\\"usage\\":null',
    '"sequence_number',
    '"sequence_number":7',
    'привет, мир',
    '日本語のテキスト',
    '🙂👍🏽',
    'data: [DONE]',
    '\\',
    '\n\n',
  ),
)

const chatChunk = (id: number, delta: object, finish: string | null, usageNull: boolean) =>
  JSON.stringify({
    id: `chatcmpl-${id}`,
    object: 'chat.completion.chunk',
    created: 1_750_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    service_tier: 'default',
    system_fingerprint: 'fp_34a54ae93c',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usageNull ? { usage: null } : {}),
    obfuscation: 'x1',
  })

/** One event of a chat stream: its delta, and members of no meaning to the meter. */
interface ChatEvent {
  delta: object
  extra?: Record<string, null>
}

const chatEvent: fc.Arbitrary<ChatEvent> = fc.oneof(
  { weight: 6, arbitrary: text.map((t) => ({ delta: { content: t } })) },
  { weight: 1, arbitrary: text.map((t) => ({ delta: { refusal: t } })) },
  {
    weight: 1,
    arbitrary: text.map((t) => ({
      delta: { tool_calls: [{ index: 0, function: { arguments: t } }] },
    })),
  },
  // Keys that end in `usage` or `sequence_number` after an escaped quote: no key of those names.
  {
    weight: 1,
    arbitrary: fc.constantFrom('say "usage', 'x"sequence_number', 'usage').map((key) => ({
      delta: { content: 'k' },
      extra: { [key]: null },
    })),
  },
)

interface Stream {
  full: string
  /** What a client that did not ask for usage gets (drop mode), by the reference. */
  withoutUsage: string
}

const ending = fc.constantFrom<Ending>('\n', '\r\n', '\r')

/** A chat stream as OpenAI sends it when the gateway forced include_usage. */
const chatStream = fc
  .record({
    events: fc.array(chatEvent, { maxLength: 10 }),
    usageNull: fc.boolean(),
    comments: fc.array(fc.nat({ max: 10 }), { maxLength: 3 }),
    usage: fc.option(fc.record({ prompt: fc.nat(), completion: fc.nat() }), { nil: undefined }),
    ending,
    done: fc.boolean(),
  })
  .map(({ events, usageNull, comments, usage, ending: eol, done }): string[][] => {
    const out: string[][] = []
    events.forEach((event, i) => {
      if (comments.includes(i)) out.push([': keep-alive'])
      const line = chatChunk(1, event.delta, null, usageNull)
      const json = event.extra ? JSON.stringify({ ...JSON.parse(line), ...event.extra }) : line
      out.push([`data: ${json}`])
    })
    out.push([`data: ${chatChunk(1, {}, 'stop', usageNull)}`])
    if (usage) {
      const u = {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.prompt + usage.completion,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      }
      const line = JSON.stringify({
        ...JSON.parse(chatChunk(1, {}, null, false)),
        choices: [],
        usage: u,
      })
      out.push([`data: ${line}`])
    }
    if (done) out.push(['data: [DONE]'])
    return out.map((lines) => lines.map((l) => l + eol))
  })

/** A Responses stream: sequence numbers, deltas, a response.completed that carries the usage. */
const responsesStream = fc
  .record({
    deltas: fc.array(text, { maxLength: 8 }),
    start: fc.nat({ max: 1000 }),
    note: fc.array(text, { minLength: 2, maxLength: 3 }),
    completed: fc.boolean(),
    ending,
  })
  .map(({ deltas, start, note, completed, ending: eol }): string[][] => {
    let seq = start
    const event = (type: string, body: object) => [
      `event: ${type}`,
      `data: ${JSON.stringify({ type, sequence_number: seq++, ...body })}`,
    ]
    const out: string[][] = [event('response.created', { response: { id: 'resp_1', usage: null } })]
    for (const delta of deltas)
      out.push(event('response.output_text.delta', { item_id: 'm', delta }))
    // A multi-line data event (not JSON): passed on, never parsed as usage. (Its text has no
    // quotes: a byte scan takes `"sequence_number":7` for a key wherever it stands.)
    out.push(['event: note', ...note.map((n) => `data: ${n.replace(/[\r\n"]/g, ' ')}`)])
    if (completed) {
      const output = [
        { type: 'message', content: [{ type: 'output_text', text: deltas.join('') }] },
      ]
      const usage = {
        input_tokens: 11,
        output_tokens: deltas.length,
        total_tokens: 11 + deltas.length,
      }
      out.push(
        event('response.completed', { response: { id: 'resp_1', output, usage, user: null } }),
      )
    }
    return out.map((lines) => lines.map((l) => l + eol))
  })

/** The line break a line ends with. */
const lineEnding = (line: string) => line.slice(line.replace(/(\r\n|\r|\n)$/, '').length)

/** The straightforward meter: every line split out, every data line parsed. */
function reference(events: string[][], drop: boolean) {
  let usage: ReturnType<typeof readUsage> = null
  let lastSequence: number | null = null
  let out = ''
  for (const lines of events) {
    let keep = ''
    let dropEvent = false
    for (const line of lines) {
      const eol = lineEnding(line)
      const body = line.slice(0, line.length - eol.length)
      let event: Record<string, unknown> | null = null
      if (body.startsWith('data:')) {
        try {
          event = JSON.parse(body.slice(5)) as Record<string, unknown>
        } catch {
          event = null
        }
      }
      if (event && typeof event === 'object') {
        const found = readUsage(event.usage ?? (event.response as { usage?: unknown })?.usage)
        if (found) usage = found
        if (typeof event.sequence_number === 'number') lastSequence = event.sequence_number
        if (drop && found && Array.isArray(event.choices) && event.choices.length === 0) {
          dropEvent = true
          continue
        }
        if (drop && event.usage === null) {
          const { usage: _, ...rest } = event
          keep += `data: ${JSON.stringify(rest)}${eol}`
          continue
        }
      }
      keep += line
    }
    // An event's blank line ends it; a dropped event takes its blank line along.
    if (!dropEvent) out += keep + lineEnding(lines[0]!)
  }
  return { usage, lastSequence, out }
}

function toStream(events: string[][]): Stream & { events: string[][] } {
  const full = events.map((lines) => lines.join('') + lineEnding(lines[0]!)).join('')
  return { full, withoutUsage: reference(events, true).out, events }
}

/**
 * The delivered-output counter's limits: the shipped ones, or tiny ones, so that the stream is
 * read and counted in many pieces. The counter records its pieces: joined, they must be the text.
 */
const limits = fc.constantFrom(undefined, { windowBytes: 24, countChars: 10, lineChars: 1 << 20 })

function recorder() {
  const pieces: string[] = []
  return {
    pieces,
    countTokens: (text: string) => {
      pieces.push(text)
      return text.length
    },
  }
}

function meter(
  parts: Buffer[],
  drop: boolean,
  trackSequence: boolean,
  deliveredLimits?: DeliveredLimits,
) {
  const counted = recorder()
  const m = createSseMeter({
    dropUsageChunk: drop,
    trackSequence,
    countTokens: counted.countTokens,
    deliveredLimits,
  })
  const out = [...parts.map((part) => Buffer.from(m.push(part))), m.end()]
  return { m, out: Buffer.concat(out).toString('utf8'), counted }
}

const splits = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 16 })

describe('fuzz: SSE meter against a full parse of every line', () => {
  it('chat streams: same usage, same bytes to the client, same text counted, however cut', () => {
    fc.assert(
      fc.property(chatStream, splits, fc.boolean(), limits, (events, fractions, drop, limit) => {
        const s = toStream(events)
        const ref = reference(events, drop)
        const bytes = Buffer.from(s.full)
        const { m, out, counted } = meter(cutAt(bytes, fractions), drop, false, limit)
        expect(out).toBe(drop ? s.withoutUsage : s.full)
        expect(m.usage()).toEqual(ref.usage)
        const text = textOfSse(ref.out)
        expect(m.deliveredTokens()).toBe(text.length)
        expect(counted.pieces.join('')).toBe(text)
      }),
      { numRuns: RUNS },
    )
  })

  it('Responses streams: same usage and last sequence number, bytes untouched, however cut', () => {
    fc.assert(
      fc.property(responsesStream, splits, limits, (events, fractions, limit) => {
        const s = toStream(events)
        const ref = reference(events, false)
        const bytes = Buffer.from(s.full)
        const parts = cutAt(bytes, fractions)
        const counted = recorder()
        const m = createSseMeter({
          dropUsageChunk: false,
          trackSequence: true,
          countTokens: counted.countTokens,
          deliveredLimits: limit,
        })
        let delivered = 0
        for (const part of parts) {
          expect(m.push(part)).toBe(part)
          delivered += part.length
          // After each chunk: the last sequence number of the lines complete so far.
          const seen = reference(completeEvents(bytes.subarray(0, delivered)), false)
          expect(m.lastSequence()).toBe(seen.lastSequence)
        }
        m.end()
        expect(m.usage()).toEqual(ref.usage)
        expect(m.lastSequence()).toBe(ref.lastSequence)
        expect(m.deliveredTokens()).toBe(textOfSse(s.full).length)
        expect(counted.pieces.join('')).toBe(textOfSse(s.full))
      }),
      { numRuns: RUNS },
    )
  })
})

/**
 * The complete lines of a prefix, as one-line events for the reference. A CR
 * as the last byte is not yet a line break (it may be half of a CRLF).
 */
function completeEvents(prefix: Buffer): string[][] {
  const textSoFar = prefix.toString('latin1')
  const lines = textSoFar.match(/[^\r\n]*(\r\n|\r(?!$)|\n)/g) ?? []
  return lines.map((line) => [Buffer.from(line, 'latin1').toString('utf8')])
}
