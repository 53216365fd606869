import { describe, expect, it } from 'vitest'
import { readUsage, usageFromJsonBody } from '../../src/pipeline/settle/usage.ts'

const read = (value: unknown, indent?: number) =>
  usageFromJsonBody(Buffer.from(JSON.stringify(value, null, indent)))
const real = { prompt_tokens: 1200, completion_tokens: 34, total_tokens: 1234 }
const fake = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }

/** The non-stream usage reader takes the answer's own top-level usage, nothing nested. */
describe('usage from a JSON answer', () => {
  it('reads the top-level usage of chat, embeddings and Responses answers, compact or indented', () => {
    const chat = {
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' } }],
      usage: real,
      service_tier: 'default',
      system_fingerprint: 'fp_1',
    }
    expect(read(chat)).toEqual({ input: 1200, output: 34 })
    expect(read(chat, 2)).toEqual({ input: 1200, output: 34 })
    const embeddings = {
      object: 'list',
      data: [{ embedding: [0.1, -0.2] }],
      usage: { prompt_tokens: 9, total_tokens: 9 },
    }
    expect(read(embeddings)).toEqual({ input: 9, output: 0 })
    const responses = {
      id: 'resp_1',
      output: [],
      usage: { input_tokens: 50, output_tokens: 5, total_tokens: 55 },
      user: null,
      metadata: { usage: 'a string value' },
    }
    expect(read(responses, 2)).toEqual({ input: 50, output: 5 })
  })

  it('an object named usage nested in echoed content after the real usage does not decide the bill', () => {
    const answer = {
      id: 'resp_2',
      usage: { input_tokens: 5000, output_tokens: 70 },
      tools: [{ type: 'function', parameters: { properties: { usage: { type: 'object' } } } }],
      text: { format: { schema: { usage: { input_tokens: 1, output_tokens: 1 } } } },
      echo: { usage: fake },
    }
    expect(read(answer)).toEqual({ input: 5000, output: 70 })
    // The same echo with no top-level usage at all: nothing is read (the gateway counts instead).
    const { usage: _, ...withoutUsage } = answer
    expect(read(withoutUsage)).toBeNull()
    // Strings that look like usage are content, whatever their escapes.
    expect(
      read({ a: '"usage": {"prompt_tokens": 1}', b: 'x\\', usage: real, c: '\\"usage\\":{}' }),
    ).toEqual({
      input: 1200,
      output: 34,
    })
  })

  it('agrees with JSON.parse on random answers with usage-like objects anywhere', () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const junk = (depth: number): unknown => {
      const r = random()
      if (depth > 3 || r < 0.3)
        return ['"}]\\', 'usage', 1.5e-7, null, true, '{"usage":{}}'][Math.floor(random() * 6)]
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => junk(depth + 1))
      const object: Record<string, unknown> = {}
      for (let i = 0; i < 3; i++)
        object[random() < 0.3 ? 'usage' : `k${i}`] = random() < 0.2 ? fake : junk(depth + 1)
      return object
    }
    for (let i = 0; i < 300; i++) {
      const answer = junk(0)
      if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) continue
      const expected = readUsage((JSON.parse(JSON.stringify(answer)) as { usage?: unknown }).usage)
      expect(read(answer, i % 2 ? 2 : undefined), JSON.stringify(answer)).toEqual(expected)
    }
  })

  it('gives up on what is not a JSON object', () => {
    expect(usageFromJsonBody(Buffer.from('not json'))).toBeNull()
    expect(usageFromJsonBody(Buffer.from('[{"usage":{"prompt_tokens":1}}]'))).toBeNull()
    expect(
      usageFromJsonBody(Buffer.from('{"usage": {"prompt_tokens": 3, "completion_tokens": 4}  }\n')),
    ).toEqual({
      input: 3,
      output: 4,
    })
  })
})
