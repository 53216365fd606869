import { describe, expect, it } from 'vitest'
import { AUDIO_OUTPUT_BYTES_PER_TOKEN, textOfSse } from '../../src/pipeline/estimate/output-text.ts'
import { DeliveredOutput } from '../../src/pipeline/stream/delivered-output.ts'
import { createSseMeter, LINE_LIMIT } from '../../src/pipeline/stream/sse-meter.ts'

const chunk = (choices: unknown[], usage?: unknown) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o', choices, ...(usage !== undefined ? { usage } : {}) })}\n\n`
const delta = (content: string) => [{ index: 0, delta: { content }, finish_reason: null }]
/** A counter that counts characters: the tests read what was counted without a tokenizer. */
const countTokens = (text: string) => text.length
const USAGE = { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 }

/** A stream as OpenAI sends it with include_usage: `"usage": null` everywhere, then the usage-only chunk. */
const body = [
  chunk(delta('Hel'), null),
  chunk(delta('lo, "usage": {world}'), null),
  chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], null),
]
const usageEvent = chunk([], USAGE)
const full = `${body.join('')}${usageEvent}data: [DONE]\n\n`
/** What OpenAI sends without include_usage: the same chunks with no `usage` key at all. */
const withoutUsage = `${[
  chunk(delta('Hel')),
  chunk(delta('lo, "usage": {world}')),
  chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
].join('')}data: [DONE]\n\n`

function run(text: string, splits: number[], dropUsageChunk: boolean, trackSequence = false) {
  const meter = createSseMeter({ dropUsageChunk, trackSequence, countTokens })
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
    const meter = createSseMeter({ dropUsageChunk: false, countTokens })
    const first = Buffer.from(full.slice(0, 10))
    expect(meter.push(first)).toBe(first)
  })

  it('drops the usage-only event and every `"usage":null` when the client did not ask for usage, at every split point', () => {
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

  it('removes `"usage": null` wherever the key stands, spaced or not, and only as a key', () => {
    const lines = [
      'data: {"id":"a","choices":[],"usage":null}\n\n',
      'data: {"usage":null,"id":"b","choices":[]}\n\n',
      'data: {"id": "c", "choices": [], "usage": null}\n\n',
      'data: {"usage": null}\n\n',
      'data: {"id":"d","choices":[{"delta":{"content":"\\"usage\\":null"}}]}\n\n',
    ]
    const { out } = run(lines.join(''), [30, 31], true)
    expect(out).toBe(
      [
        'data: {"id":"a","choices":[]}\n\n',
        'data: {"id":"b","choices":[]}\n\n',
        'data: {"id": "c", "choices": []}\n\n',
        'data: {}\n\n',
        lines[4],
      ].join(''),
    )
    for (const line of out.split('\n').filter((l) => l.startsWith('data:'))) {
      expect(() => JSON.parse(line.slice(5)), line).not.toThrow()
    }
  })

  it('leaves `"usage":null` alone when the client asked for usage', () => {
    const { out } = run(full, [50], false)
    expect(out).toBe(full)
  })

  it('remembers the last sequence_number of a Responses stream, however it is split', () => {
    const events = Array.from(
      { length: 12 },
      (_, i) =>
        `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', sequence_number: i * 9, delta: 'x' })}\n\n`,
    ).join('')
    const bytes = Buffer.byteLength(events)
    for (let split = 1; split < bytes; split += 7) {
      const meter = createSseMeter({ dropUsageChunk: false, trackSequence: true, countTokens })
      expect(meter.lastSequence()).toBeNull()
      meter.push(Buffer.from(events.slice(0, split)))
      const complete = events.slice(0, split).split('\n\n').slice(0, -1)
      const seen = complete.flatMap((e) =>
        [...e.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1])),
      )
      expect(meter.lastSequence(), `split at ${split}`).toBe(seen.at(-1) ?? null)
      meter.push(Buffer.from(events.slice(split)))
      expect(meter.lastSequence(), `split at ${split}`).toBe(99)
    }
  })

  it('finds no usage in a stream without one and counts the delivered text instead', () => {
    const { out, meter } = run(withoutUsage, [17, 60], true)
    expect(out).toBe(withoutUsage)
    expect(meter.usage()).toBeNull()
    expect(meter.deliveredTokens()).toBe('Hello, "usage": {world}'.length)
  })

  it('reads the usage of a Responses API stream from response.completed and changes nothing', () => {
    const events = [
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { id: 'r', usage: null } })}\n\n`,
      `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}\n\n`,
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { id: 'r', output: [], usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7, output_tokens_details: { reasoning_tokens: 0 } } } })}\n\n`,
    ].join('')
    // The proxy never drops anything from a Responses stream: it injected nothing there.
    const { out, meter } = run(events, [40, 200], false, true)
    expect(out).toBe(events)
    expect(meter.usage()).toEqual({ input: 5, output: 2 })
    expect(meter.deliveredTokens()).toBe('Hi'.length)
  })

  it('passes a line longer than LINE_LIMIT on unread instead of holding it, and meters again after it', () => {
    const meter = createSseMeter({ dropUsageChunk: true, countTokens })
    const piece = Buffer.alloc(1024 * 1024, 'a')
    let sent = 0
    let out = 0
    sent += piece.length
    out += meter.push(Buffer.concat([Buffer.from('data: {"x":"'), piece])).length
    while (sent <= LINE_LIMIT + piece.length) {
      out += meter.push(Buffer.from(piece)).length
      sent += piece.length
      // Held at most LINE_LIMIT bytes: what is over it has gone on to the client.
      expect(sent + 12 - out).toBeLessThanOrEqual(LINE_LIMIT)
    }
    const rest = meter.push(Buffer.from(`"}\n\n${usageEvent}data: [DONE]\n\n`)).toString()
    expect(rest).toBe('"}\n\ndata: [DONE]\n\n')
    expect(meter.usage()).toEqual({ input: 31, output: 9 })
  })

  it('meters a last event without a line break when the body ends', () => {
    const last = usageEvent.trimEnd()
    const kept = run(`${body.join('')}${last}`, [40], false)
    expect(kept.out).toBe(`${body.join('')}${last}`)
    expect(kept.meter.usage()).toEqual({ input: 31, output: 9 })
    const dropped = run(`${body.join('')}${last}`, [40], true)
    expect(dropped.out).toBe(withoutUsage.replace('data: [DONE]\n\n', ''))
    expect(dropped.meter.usage()).toEqual({ input: 31, output: 9 })
  })
})

describe('text of an SSE answer (what a disconnect counts)', () => {
  const events = [chunk(delta('Hel')), chunk(delta('lo')), 'data: [DONE]\n\n']

  it('reads LF, CRLF and lone-CR streams alike', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      expect(textOfSse(events.join('').replaceAll('\n', eol)), JSON.stringify(eol)).toBe('Hello')
    }
  })

  it('joins the data lines of one event (SSE spec), and reads events with no blank line between them', () => {
    const multiLine = `data: {"choices":[{"delta":\ndata: {"content":"Hel"}}]}\n\n${chunk(delta('lo'))}`
    expect(textOfSse(multiLine)).toBe('Hello')
    expect(textOfSse(events.join('').replaceAll('\n\n', '\n'))).toBe('Hello')
  })

  it('counts nothing of a last event cut short', () => {
    expect(textOfSse(`${chunk(delta('Hel'))}data: {"choices":[{"delta":{"content":"lo`)).toBe('Hel')
  })
})

describe('the delivered-output counter (what a cut stream bills)', () => {
  const multiLine = `data: {"choices":[{"delta":\ndata: {"content":"Hel"}}]}\n\n${chunk(delta('lo wor'))}${chunk(delta('ld'))}data: [DONE]\n\n`
  const tiny = { windowBytes: 1, countChars: 3, lineChars: 1 << 20 }

  it('reads the same text fed a byte at a time as whole, for every line ending, multi-line data included', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const sse = multiLine.replaceAll('\n', eol)
      const pieces: string[] = []
      const counter = new DeliveredOutput((text) => {
        pieces.push(text)
        return text.length
      }, tiny)
      for (const byte of Buffer.from(sse)) counter.add(Buffer.from([byte]))
      expect(counter.tokens(), JSON.stringify(eol)).toBe('Hello world'.length)
      expect(pieces.join(''), JSON.stringify(eol)).toBe('Hello world')
      expect(textOfSse(sse), JSON.stringify(eol)).toBe('Hello world')
    }
  })

  it('counts every output modality: audio transcript and data, legacy function_call arguments, tool calls', () => {
    const pcm = Buffer.alloc(2400).toString('base64') // 2 tokens at 1,200 bytes a token
    const sse = [
      chunk([{ index: 0, delta: { audio: { id: 'audio_1', transcript: 'Hi', data: pcm } } }]),
      chunk([{ index: 0, delta: { audio: { data: pcm } } }]),
      chunk([{ index: 0, delta: { function_call: { name: 'f', arguments: '{"a"' } } }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] } }]),
      `data: ${JSON.stringify({ type: 'response.audio.delta', delta: pcm })}\n\n`,
    ].join('')
    const counter = new DeliveredOutput(countTokens)
    counter.add(Buffer.from(sse))
    const text = 'Hi{"a":1}'
    expect(counter.tokens()).toBe(
      text.length + Math.ceil((3 * 2400) / AUDIO_OUTPUT_BYTES_PER_TOKEN),
    )
  })

  it('holds a few hundred KB at most of a 20 MB stream, and counts it all', () => {
    const meter = createSseMeter({ dropUsageChunk: false, countTokens })
    const event = Buffer.from(chunk(delta('word '.repeat(40))))
    let most = 0
    let sent = 0
    while (sent < 20 * 1024 * 1024) {
      meter.push(Buffer.from(event))
      sent += event.length
      most = Math.max(most, meter.deliveredRetained())
    }
    // Before: every delivered byte up to 8 MiB was kept for the count at the end.
    expect(most).toBeLessThan(320 * 1024)
    expect(meter.deliveredTokens()).toBe((sent / event.length) * 200)
  })
})
