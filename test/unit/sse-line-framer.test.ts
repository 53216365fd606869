import { describe, expect, it } from 'vitest'
import { type LineSink, SseLineFramer } from '../../src/pipeline/stream/sse-line-framer.ts'

/** A framer whose sink records what it was handed, in order. */
function recorder(limit?: number) {
  const handed: Array<{ kind: 'lines' | 'unread'; text: string }> = []
  const sink: LineSink = {
    lines: (block) => handed.push({ kind: 'lines', text: block.toString('latin1') }),
    unread: (bytes) => handed.push({ kind: 'unread', text: bytes.toString('latin1') }),
  }
  return { framer: new SseLineFramer(sink, limit), handed }
}

const lines = (handed: Array<{ kind: string; text: string }>) =>
  handed.filter((h) => h.kind === 'lines').map((h) => h.text)

describe('SSE line framer', () => {
  it('hands out only complete lines, all of them, however the bytes are cut, for LF, CRLF and CR', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = ['event: note', 'data: {"a":1}', '', ': keep-alive', '', 'data: é', ''].join(eol)
      const bytes = Buffer.from(text)
      for (let first = 1; first < bytes.length; first++) {
        for (const second of [first + 1, first + 2, bytes.length]) {
          const { framer, handed } = recorder()
          let at = 0
          for (const point of [first, second, bytes.length]) {
            if (point > at) framer.push(Buffer.from(bytes.subarray(at, point)))
            at = Math.max(at, point)
          }
          // A lone CR that ends the body is a break only once the body ends.
          framer.end()
          const blocks = lines(handed)
          const where = `${JSON.stringify(eol)} cut at ${first}, ${second}`
          expect(blocks.join(''), where).toBe(bytes.toString('latin1'))
          for (const [i, block] of blocks.entries()) {
            expect(block, where).toMatch(/[\r\n]$/)
            // A CRLF is never split between two blocks: the CR waited for its LF.
            if (eol === '\r\n') expect(blocks[i + 1]?.startsWith('\n') ?? false, where).toBe(false)
          }
          expect(
            handed.every((h) => h.kind === 'lines'),
            where,
          ).toBe(true)
        }
      }
    }
  })

  it('holds a CR that ends a chunk until the next byte says whether it is half of a CRLF', () => {
    const { framer, handed } = recorder()
    framer.push(Buffer.from('data: a\r'))
    expect(lines(handed)).toEqual([])
    framer.push(Buffer.from('\n'))
    expect(lines(handed)).toEqual(['data: a\r\n'])
    framer.push(Buffer.from('data: b\r'))
    framer.push(Buffer.from('data: c'))
    expect(lines(handed)).toEqual(['data: a\r\n', 'data: b\r'])
  })

  it('hands out the last line without a break when the body ends, and nothing more', () => {
    const { framer, handed } = recorder()
    framer.push(Buffer.from('data: a\ndata: b'))
    framer.end()
    framer.end()
    expect(lines(handed)).toEqual(['data: a\n', 'data: b'])
  })

  it('passes a line longer than the limit on unread, holding at most the limit, and frames again after its end', () => {
    const { framer, handed } = recorder(16)
    framer.push(Buffer.from('data: 12345'))
    framer.push(Buffer.from('67890'))
    expect(handed).toEqual([])
    framer.push(Buffer.from('x'))
    expect(handed).toEqual([{ kind: 'unread', text: 'data: 1234567890x' }])
    framer.push(Buffer.from('yyyy'))
    framer.push(Buffer.from('zz\r\ndata: next\n\n'))
    expect(handed.slice(1)).toEqual([
      { kind: 'unread', text: 'yyyy' },
      { kind: 'unread', text: 'zz\r' },
      { kind: 'lines', text: '\ndata: next\n\n' },
    ])
  })
})
