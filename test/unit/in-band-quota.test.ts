import { describe, expect, it } from 'vitest'
import { counterForModel } from '../../src/pipeline/estimate/tokenizer.ts'
import { type InBandReport, inBandMeter } from '../../src/pipeline/stream/in-band-quota.ts'
import { createSseMeter } from '../../src/pipeline/stream/sse-meter.ts'

const report: InBandReport = {
  cost: { requests: 1, tokens_input: 5, tokens_output: 2 },
  remaining: { requests: 9, tokens_input: null, tokens_output: 98 },
  reset: 1_800_000_000,
}

const STREAM = [
  'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}',
  'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}],"usage":null}',
  'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}',
  'data: [DONE]',
]

/** The stream through the meter and the in-band wrapper, cut every `size` bytes. */
function through(text: string, size: number) {
  const meter = createSseMeter({ dropUsageChunk: false, countTokens: counterForModel('gpt-4o') })
  let settled = 0
  const wrapped = inBandMeter(meter, 'chat', () => {
    settled++
    return report
  })
  const bytes = Buffer.from(text)
  const out: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size)
    out.push(wrapped.push(bytes.subarray(at, at + size)))
  out.push(wrapped.end())
  return { text: Buffer.concat(out).toString(), settled, usage: meter.usage() }
}

describe('the in-band meter', () => {
  for (const eol of ['\n', '\r\n']) {
    for (const size of [1, 7, 64, 4096]) {
      it(`adds the report wherever the network cuts (${JSON.stringify(eol)}, chunks of ${size})`, () => {
        const { text, settled, usage } = through(STREAM.map((l) => l + eol + eol).join(''), size)
        expect(settled).toBe(1)
        expect(usage).toMatchObject({ input: 5, output: 2 })
        const lines = text.split(/\r?\n/).filter(Boolean)
        expect(lines.slice(0, 2)).toEqual(STREAM.slice(0, 2))
        const usageChunk = JSON.parse(lines[2]!.slice('data: '.length))
        expect(usageChunk).toEqual({
          ...JSON.parse(STREAM[2]!.slice('data: '.length)),
          x_gateway: report,
        })
        expect(lines[3]).toBe(`: x-gateway ${JSON.stringify(report)}`)
        expect(lines[4]).toBe('data: [DONE]')
      })
    }
  }

  it('passes every chunk on as it comes until the usage chunk: nothing of the answer is held', () => {
    const meter = createSseMeter({ dropUsageChunk: false, countTokens: counterForModel('gpt-4o') })
    const wrapped = inBandMeter(meter, 'chat', () => report)
    const first = `${STREAM[0]}\n\n`
    expect(wrapped.push(Buffer.from(first)).toString()).toBe(first)
    // A provider that reports usage on every chunk (choices not empty) is not held either.
    const withUsage = `data: {"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":5}}\n\n`
    expect(wrapped.push(Buffer.from(withUsage)).toString()).toBe(withUsage)
  })
})
