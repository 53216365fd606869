import { describe, expect, it } from 'vitest'
import { SseUsageReader } from '../../src/pipeline/stream/sse-usage-reader.ts'

const USAGE = { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 }
const content = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'
const usageOnly = `data: ${JSON.stringify({ id: 'c', choices: [], usage: USAGE })}\n`
const done = 'data: [DONE]\n\n'

describe('SSE usage reader', () => {
  it('reads the usage and returns the very block it was given when not cutting', () => {
    const reader = new SseUsageReader(false, false)
    const block = Buffer.from(`${content}${usageOnly}\n${done}`)
    expect(reader.read(block)).toBe(block)
    expect(block.toString()).toBe(`${content}${usageOnly}\n${done}`)
    expect(reader.usage()).toEqual({ input: 31, output: 9 })
  })

  it('when cutting, removes the usage-only event and its blank line, even when the blank line is in the next block', () => {
    const reader = new SseUsageReader(true, false)
    const first = reader.read(Buffer.from(`${content}${usageOnly}`)).toString()
    const second = reader.read(Buffer.from(`\n${done}`)).toString()
    expect(first + second).toBe(
      `data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n${done}`,
    )
    expect(reader.usage()).toEqual({ input: 31, output: 9 })
  })

  it('after a line passed unread, cuts no blank line that a cut event left pending', () => {
    const reader = new SseUsageReader(true, false)
    expect(reader.read(Buffer.from(usageOnly)).toString()).toBe('')
    // An overlong line followed the usage event with no blank line between: the blank line
    // that comes next ends that line's event, not the cut one.
    reader.lineSkipped()
    expect(reader.read(Buffer.from(`\n${done}`)).toString()).toBe(`\n${done}`)
  })

  it('keeps the last sequence_number of the blocks read, only when asked to', () => {
    const events = 'data: {"type":"x","sequence_number":4}\n\ndata: {"sequence_number": 12}\n\n'
    const tracking = new SseUsageReader(false, true)
    expect(tracking.lastSequence()).toBeNull()
    tracking.read(Buffer.from(events))
    expect(tracking.lastSequence()).toBe(12)
    // A string that ends in `sequence_number"` is no key: the one before it counts.
    tracking.read(Buffer.from('data: {"sequence_number":13,"delta":"\\"sequence_number\\":99"}\n'))
    expect(tracking.lastSequence()).toBe(13)
    const not = new SseUsageReader(false, false)
    not.read(Buffer.from(events))
    expect(not.lastSequence()).toBeNull()
  })
})
