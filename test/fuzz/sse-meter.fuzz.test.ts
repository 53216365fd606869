import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSseMeter } from '../../src/pipeline/stream/sse-meter.ts'
import { cutAt } from '../helpers/chunks.ts'

/*
 * The SSE meter under streams an upstream may really send (SSE spec: lines end
 * in LF, CRLF or CR; comments start with ':'; an event may span several data
 * lines) plus garbage, cut into arbitrary chunks. Properties:
 *  - push/end never throw;
 *  - a usage chunk present in the stream is always found;
 *  - without dropping, the bytes out are the bytes in;
 *  - when dropping (the client did not ask for usage), the client gets exactly
 *    the stream minus the usage-only event: never the injected chunk, nothing else changed.
 * 300 runs per property keeps the file well under a second.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const USAGE = { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 }

type Ending = '\n' | '\r\n' | '\r'

const safeText = fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' '))
const contentEvent = safeText.map((text) => [
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text } }], usage: null })}`,
])
const commentEvent = safeText.map((text) => [`: ${text}`])
// A multi-line data event: the client joins the lines with \n (SSE spec); the gateway only passes it on.
const multiLineEvent = fc
  .array(safeText, { minLength: 2, maxLength: 4 })
  .map((lines) => ['event: note', ...lines.map((line) => `data: ${line}`)])
// Garbage lines: anything without a line break and without the usage key.
const garbageEvent = fc
  .string({ unit: 'binary', maxLength: 40 })
  .map((s) => [s.replace(/[\r\n]/g, '').replaceAll('"usage"', '"u"') || 'x'])
const otherEvent = fc.oneof(contentEvent, commentEvent, multiLineEvent, garbageEvent)

const usageLine = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: USAGE })}`

interface Stream {
  full: string
  withoutUsage: string
  hasUsage: boolean
}

const stream = fc
  .record({
    before: fc.array(otherEvent, { maxLength: 8 }),
    after: fc.array(otherEvent, { maxLength: 3 }),
    hasUsage: fc.boolean(),
    ending: fc.constantFrom<Ending>('\n', '\r\n', '\r'),
    done: fc.boolean(),
  })
  .map(({ before, after, hasUsage, ending, done }): Stream => {
    const event = (lines: string[]) => lines.map((line) => line + ending).join('') + ending
    const head = before.map(event).join('')
    const tail = after.map(event).join('') + (done ? event(['data: [DONE]']) : '')
    const usage = hasUsage ? event([usageLine]) : ''
    // What a client that did not ask for usage sees: no usage event, and no `"usage":null` key
    // on the other chunks (OpenAI adds it only because the gateway forced include_usage).
    const withoutUsage = (head + tail).replaceAll(',"usage":null', '')
    return { full: head + usage + tail, withoutUsage, hasUsage }
  })

function run(bytes: Buffer, parts: Buffer[], dropUsageChunk: boolean) {
  const meter = createSseMeter({ dropUsageChunk, countTokens: (text) => text.length })
  // The parts are copies (cutAt): the meter owns each chunk it is given and may cut in place.
  expect(Buffer.concat(parts).length).toBe(bytes.length)
  const out = [...parts.map((part) => meter.push(part)), meter.end()]
  return { meter, out: Buffer.concat(out).toString('utf8') }
}

const splits = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 })

describe('fuzz: SSE meter', () => {
  it('passes every byte through and finds a usage chunk that is present, for any chunking and line ending', () => {
    fc.assert(
      fc.property(stream, splits, (s, fractions) => {
        const bytes = Buffer.from(s.full)
        const { meter, out } = run(bytes, cutAt(bytes, fractions), false)
        expect(out).toBe(s.full)
        expect(meter.usage()).toEqual(s.hasUsage ? { input: 31, output: 9 } : null)
      }),
      { numRuns: RUNS },
    )
  })

  it('drops exactly the injected usage-only event and nothing else, for any chunking and line ending', () => {
    fc.assert(
      fc.property(stream, splits, (s, fractions) => {
        const bytes = Buffer.from(s.full)
        const { meter, out } = run(bytes, cutAt(bytes, fractions), true)
        expect(out).toBe(s.withoutUsage)
        expect(meter.usage()).toEqual(s.hasUsage ? { input: 31, output: 9 } : null)
      }),
      { numRuns: RUNS },
    )
  })

  it('never throws on arbitrary bytes, whatever the chunking', () => {
    const bytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a))
    const text = fc
      .array(fc.constantFrom('data: ', '"usage"', ':', '{', '}', '\r', '\n', '[]', 'x', ' '), {
        maxLength: 80,
      })
      .map((parts) => Buffer.from(parts.join('')))
    fc.assert(
      fc.property(fc.oneof(bytes, text), splits, fc.boolean(), (input, fractions, drop) => {
        const { out } = run(input, cutAt(input, fractions), drop)
        if (!drop) expect(out).toBe(input.toString('utf8'))
      }),
      { numRuns: RUNS },
    )
  })
})
