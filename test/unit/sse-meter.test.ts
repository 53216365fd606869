import { describe, expect, it } from 'vitest'
import { textOfSse } from '../../src/pipeline/output-text.ts'
import { createSseMeter } from '../../src/pipeline/sse-meter.ts'

const chunk = (choices: unknown[], usage?: unknown) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o', choices, ...(usage !== undefined ? { usage } : {}) })}\n\n`
const delta = (content: string) => [{ index: 0, delta: { content }, finish_reason: null }]
const USAGE = { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 }

/** A stream as OpenAI sends it with include_usage: `"usage": null` everywhere, then the usage-only chunk. */
const body = [
  chunk(delta('Hel'), null),
  chunk(delta('lo, "usage": {world}'), null),
  chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], null),
]
const usageEvent = chunk([], USAGE)
const full = `${body.join('')}${usageEvent}data: [DONE]\n\n`
const withoutUsage = `${body.join('')}data: [DONE]\n\n`

function run(text: string, splits: number[], dropUsageChunk: boolean) {
  const meter = createSseMeter({ dropUsageChunk })
  const bytes = Buffer.from(text)
  const outs: Buffer[] = []
  let at = 0
  for (const split of [...splits, bytes.length]) {
    outs.push(meter.push(bytes.subarray(at, split)))
    at = split
  }
  outs.push(meter.end())
  return { meter, out: Buffer.concat(outs).toString() }
}

describe('SSE meter', () => {
  it('passes every byte through untouched and finds the usage, however the stream is split', () => {
    const bytes = Buffer.byteLength(full)
    for (let split = 1; split < bytes; split++) {
      const { meter, out } = run(full, [split], false)
      expect(out, `split at ${split}`).toBe(full)
      expect(meter.usage(), `split at ${split}`).toEqual({ input: 31, output: 9 })
    }
  })

  it('forwards each chunk as the same buffer, without copying or holding it', () => {
    const meter = createSseMeter({ dropUsageChunk: false })
    const first = Buffer.from(full.slice(0, 10))
    expect(meter.push(first)).toBe(first)
  })

  it('drops exactly the usage-only event when the client did not ask for it, at every split point', () => {
    const bytes = Buffer.byteLength(full)
    for (let split = 1; split < bytes; split++) {
      for (const second of [split + 1, split + 7, bytes - 3]) {
        const splits = second > split && second < bytes ? [split, second] : [split]
        const { meter, out } = run(full, splits, true)
        expect(out, `splits ${splits}`).toBe(withoutUsage)
        expect(meter.usage(), `splits ${splits}`).toEqual({ input: 31, output: 9 })
      }
    }
  })

  it('drops the usage event in CRLF streams too', () => {
    const crlf = full.replaceAll('\n', '\r\n')
    const { out, meter } = run(crlf, [crlf.indexOf('"choices":[]') + 3], true)
    expect(out).toBe(withoutUsage.replaceAll('\n', '\r\n'))
    expect(meter.usage()).toEqual({ input: 31, output: 9 })
  })

  it('keeps a chunk that carries both text and usage, even when dropping', () => {
    const text = `${chunk(delta('a'))}${chunk([{ index: 0, delta: { content: 'b' }, finish_reason: 'stop' }], USAGE)}data: [DONE]\n\n`
    const { out, meter } = run(text, [5], true)
    expect(out).toBe(text)
    expect(meter.usage()).toEqual({ input: 31, output: 9 })
  })

  it('finds no usage in a stream without one and counts the delivered text instead', () => {
    const { out, meter } = run(withoutUsage, [17, 60], true)
    expect(out).toBe(withoutUsage)
    expect(meter.usage()).toBeNull()
    expect(textOfSse(meter.deliveredText())).toBe('Hello, "usage": {world}')
  })

  it('reads the usage of a Responses API stream from response.completed and changes nothing', () => {
    const events = [
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { id: 'r', usage: null } })}\n\n`,
      `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}\n\n`,
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { id: 'r', output: [], usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7, output_tokens_details: { reasoning_tokens: 0 } } } })}\n\n`,
    ].join('')
    for (const dropUsageChunk of [false, true]) {
      const { out, meter } = run(events, [40, 200], dropUsageChunk)
      expect(out).toBe(events)
      expect(meter.usage()).toEqual({ input: 5, output: 2 })
      expect(textOfSse(meter.deliveredText())).toBe('Hi')
    }
  })
})
