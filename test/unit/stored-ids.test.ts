import { describe, expect, it } from 'vitest'
import { estimateInput } from '../../src/pipeline/estimate/estimate.ts'
import { StoredIdReader } from '../../src/pipeline/stored/stored-id-reader.ts'
import {
  idsOfJsonAnswer,
  MAX_REFERENCES,
  referencedIds,
} from '../../src/pipeline/stored/stored-ids.ts'

/** Reads the stream split at every possible byte (and once whole); returns each split's ids. */
function readSplits(endpoint: 'responses' | 'chat', sse: string): string[][] {
  const bytes = Buffer.from(sse)
  const results: string[][] = []
  for (let at = 0; at <= bytes.length; at += 7) {
    const ids: string[] = []
    const reader = new StoredIdReader(endpoint, (found) => ids.push(...found))
    // Copies: the reader must not depend on a chunk's bytes after push (the meter reuses them).
    reader.push(Buffer.from(bytes.subarray(0, at)))
    reader.push(Buffer.from(bytes.subarray(at)))
    results.push(ids)
  }
  return results
}

const event = (value: object, eol = '\n') =>
  `event: x${eol}data: ${JSON.stringify(value)}${eol}${eol}`

describe('stored-object ids', () => {
  it('Responses item_reference and a chat assistant audio id get the unknown-context reserve', () => {
    const responses = estimateInput('responses', 'gpt-4o', {
      input: [
        { type: 'item_reference', id: 'msg_1' },
        { role: 'user', content: 'hi' },
      ],
    })
    expect(responses.unknown).toEqual(['item_reference'])
    const chat = estimateInput('chat', 'gpt-4o', {
      messages: [
        { role: 'assistant', audio: { id: 'audio_1' } },
        { role: 'user', content: 'again' },
      ],
    })
    expect(chat.unknown).toEqual(['audio.id'])
  })

  it('names every referencing field, and refuses more than MAX_REFERENCES', () => {
    const refs = referencedIds('responses', {
      previous_response_id: 'resp_1',
      conversation: { id: 'conv_1' },
      input: [
        { type: 'item_reference', id: 'msg_1' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] },
      ],
      tools: [{ type: 'code_interpreter', container: 'cntr_1' }],
    })
    expect(refs.map((r) => r.id)).toEqual(['resp_1', 'conv_1', 'msg_1', 'rs_1', 'file-1', 'cntr_1'])
    const many = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => ({
      type: 'item_reference',
      id: `msg_${i}`,
    }))
    expect(() => referencedIds('responses', { input: many })).toThrow(/at most 1000/)
  })

  it("reads a JSON answer's own ids, never ids echoed in its metadata or tools", () => {
    const answer = {
      id: 'resp_1',
      metadata: { id: 'resp_victim' },
      tools: [{ type: 'function', parameters: { id: 'resp_victim2' } }],
      output: [
        { id: 'msg_1', type: 'message' },
        { id: 'ci_1', type: 'code_interpreter_call', container_id: 'cntr_1' },
      ],
    }
    expect(idsOfJsonAnswer('responses', Buffer.from(JSON.stringify(answer)))).toEqual([
      'resp_1',
      'msg_1',
      'ci_1',
      'cntr_1',
    ])
    const chat = { choices: [{ message: { content: null, audio: { id: 'audio_1' } } }] }
    expect(idsOfJsonAnswer('chat', Buffer.from(JSON.stringify(chat)))).toEqual(['audio_1'])
    expect(idsOfJsonAnswer('chat', Buffer.from('{"choices":[]}'))).toEqual([])
  })

  it('reads a Responses stream split anywhere (LF or CRLF), without ids echoed in response.created', () => {
    for (const eol of ['\n', '\r\n']) {
      const sse =
        event(
          {
            type: 'response.created',
            response: { id: 'resp_1', metadata: { id: 'resp_victim' }, output: [] },
          },
          eol,
        ) +
        event({ type: 'response.output_text.delta', delta: '"id":"resp_victim"' }, eol) +
        // A model's text that spells an event: escaped in its JSON string, never a line of its own.
        event(
          {
            type: 'response.output_text.delta',
            delta: `${'x'.repeat(300)}\ndata: {"type":"response.created","response":{"id":"resp_victim"}}`,
          },
          eol,
        ) +
        event({ type: 'response.output_item.added', item: { id: 'msg_1', type: 'message' } }, eol) +
        event({ type: 'response.completed', response: { id: 'resp_1', output: [] } }, eol)
      for (const ids of readSplits('responses', sse)) expect(ids).toEqual(['resp_1', 'msg_1'])
    }
  })

  it("reads a chat stream's audio ids, split anywhere", () => {
    const chunk = (delta: object) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [{ index: 0, delta }] })}\n\n`
    const sse =
      chunk({ role: 'assistant', audio: { id: 'audio_1', transcript: '' } }) +
      chunk({ audio: { data: 'AAAA' } }) +
      chunk({ content: 'x' }) +
      'data: [DONE]\n\n'
    for (const ids of readSplits('chat', sse)) expect(ids).toEqual(['audio_1'])
  })
})
