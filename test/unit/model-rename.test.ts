import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { withModel } from '../../src/pipeline/upstream/model-rename.ts'

/*
 * A renaming deployment's body (src/pipeline/upstream/model-rename.ts): the
 * top-level model replaced in the bytes, everything else as the client sent it,
 * without parsing the body again on the event loop.
 */
const renamed = (text: string, model = 'gpt-4o-mini-2024-07-18') =>
  withModel(Buffer.from(text), model).toString('utf8')

describe('withModel', () => {
  it('replaces the top-level model and keeps every other byte', () => {
    const text = '{ "n": 12345678901234567890, "model" :  "gpt-4o-mini" ,"x":1.50}'
    expect(renamed(text)).toBe(
      '{ "n": 12345678901234567890, "model" :  "gpt-4o-mini-2024-07-18" ,"x":1.50}',
    )
  })

  it('finds the model after nested objects, strings and arrays that hold "model" keys of their own', () => {
    const text =
      '{"metadata":{"model":"a","q":"he said \\"model\\": \\"b\\""},"tools":[{"model":"c"}],' +
      '"s":"{\\"model\\":\\"d\\"}","model":"gpt-4o-mini"}'
    const out = JSON.parse(renamed(text))
    expect(out.model).toBe('gpt-4o-mini-2024-07-18')
    expect(out.metadata).toEqual({ model: 'a', q: 'he said "model": "b"' })
    expect(out.tools).toEqual([{ model: 'c' }])
    expect(out.s).toBe('{"model":"d"}')
  })

  it('reads an escaped spelling of the key as the key itself', () => {
    expect(JSON.parse(renamed('{"mod\\u0065l":"gpt-4o-mini","x":1}'))).toEqual({
      model: 'gpt-4o-mini-2024-07-18',
      x: 1,
    })
  })

  it('adds the model first when the body has none (a media route with a default model)', () => {
    expect(renamed('{"input":"hi"}', 'omni-moderation-2024-09-26')).toBe(
      '{"model":"omni-moderation-2024-09-26","input":"hi"}',
    )
    expect(renamed(' { } ', 'm')).toBe(' {"model":"m" } ')
  })

  it('gives, for any body, what parsing it and setting the model would', () => {
    const key = fc.oneof(fc.constantFrom('model', 'mode', 'models', 'x', 'a"b', 'm\\'), fc.string())
    const json = fc.jsonValue({ maxDepth: 3 })
    const object = fc.dictionary(key, json, { maxKeys: 6 })
    fc.assert(
      fc.property(object, fc.string({ maxLength: 12 }), fc.string(), (body, model, name) => {
        const text = JSON.stringify({ ...body, model })
        const out = JSON.parse(withModel(Buffer.from(text), name).toString('utf8'))
        expect(out).toEqual({ ...JSON.parse(text), model: name })
      }),
      { numRuns: 300 },
    )
  })

  it('costs one pass, not a parse: 300,000 keys before the model take milliseconds', () => {
    const keys = Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, 'v']))
    const raw = Buffer.from(JSON.stringify({ metadata: keys, model: 'gpt-4o-mini' }))
    let fastest = Number.POSITIVE_INFINITY
    for (let round = 0; round < 3; round++) {
      const start = performance.now()
      const out = withModel(raw, 'gpt-4o-mini-2024-07-18')
      fastest = Math.min(fastest, performance.now() - start)
      expect(out.subarray(-35).toString()).toBe('},"model":"gpt-4o-mini-2024-07-18"}')
    }
    // Parsing the body and writing it again took 0.3-1.9 s.
    expect(fastest).toBeLessThan(100)
  })
})
