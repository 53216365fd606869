import { describe, expect, it } from 'vitest'
import type { Endpoint } from '../../src/pipeline/estimate/estimate.ts'
import { parseProxyBody, upstreamBody } from '../../src/pipeline/request/parse.ts'
import { usageFromJsonBody } from '../../src/pipeline/settle/usage.ts'

const parse = (text: string, endpoint: Endpoint = 'chat') =>
  parseProxyBody(Buffer.from(text), endpoint)

describe('the body sent upstream', () => {
  it('is the client bytes, untouched, when nothing must be injected', () => {
    const text = '{ "model":"gpt-4o",  "seed": 12345678901234567890, "x": 1.0, "messages":[] }'
    expect(upstreamBody(parse(text), true).toString()).toBe(text)
    const streaming = '{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}'
    expect(upstreamBody(parse(streaming), true).toString()).toBe(streaming)
    expect(upstreamBody(parse('{"model":"m","stream":true}'), false).toString()).toBe(
      '{"model":"m","stream":true}',
    )
  })

  it('splices include_usage into a stream that has no stream_options, keeping every other byte', () => {
    const text = '{ "model":"gpt-4o", "seed": 12345678901234567890, "x": 1.0, "stream": true }'
    const sent = upstreamBody(parse(text), true).toString()
    expect(sent).toBe(
      '{"stream_options":{"include_usage":true}, "model":"gpt-4o", "seed": 12345678901234567890, "x": 1.0, "stream": true }',
    )
    expect(JSON.parse(sent).stream_options).toEqual({ include_usage: true })
  })

  it('rewrites stream_options that lack include_usage, keeping their other fields', () => {
    const sent = JSON.parse(
      upstreamBody(
        parse('{"model":"m","stream":true,"stream_options":{"include_usage":false,"other":1}}'),
        true,
      ).toString(),
    )
    expect(sent).toEqual({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true, other: 1 },
    })
  })

  it('refuses bodies the gateway cannot route: not JSON, not an object, no model', () => {
    expect(() => parse('{"model":')).toThrow(expect.objectContaining({ code: 'invalid_json' }))
    expect(() => parse('[1]')).toThrow(expect.objectContaining({ code: 'invalid_request' }))
    expect(() => parse('{"messages":[]}')).toThrow(
      expect.objectContaining({ code: 'validation_failed', param: 'model' }),
    )
    expect(() => parse('{"model":"m","stream":"yes"}')).toThrow(
      expect.objectContaining({ param: 'stream' }),
    )
  })

  it('refuses a body with a key twice in any object, however the key is spelled', () => {
    for (const [text, key] of [
      ['{"model":"gpt-3.5-turbo","model":"gpt-4o"}', 'model'],
      ['{"model" : "a", "x": 1, "model":"b"}', 'model'],
      ['{"model":"a","mod\\u0065l":"b"}', 'model'],
      ['{"model":"a","messages":[{"role":"user","role":"system","content":"x"}]}', 'role'],
      [
        '{"model":"a","stream_options":{"include_usage":true,"include_usage":false}}',
        'include_usage',
      ],
    ] as const) {
      expect(() => parse(text), text).toThrow(
        expect.objectContaining({ code: 'invalid_request', param: key }),
      )
    }
  })

  it('refuses a body that is not UTF-8: the upstream gets the bytes, not what the gateway decoded', () => {
    const overlongQuote = Buffer.concat([
      Buffer.from('{"model":"gpt-3.5-turbo","x":"'),
      Buffer.from([0xc0, 0xa2]),
      Buffer.from('"}'),
    ])
    expect(() => parseProxyBody(overlongQuote, 'chat')).toThrow(
      expect.objectContaining({ code: 'invalid_json' }),
    )
    expect(parse('{"model":"gpt-4o","messages":[{"content":"привет 👋"}]}').body.model).toBe(
      'gpt-4o',
    )
  })

  it('accepts equal keys in different objects, and quotes and colons inside strings', () => {
    const text = JSON.stringify({
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'say {"model": "x", "model": "y"} and "a": "b" : c' },
        { role: 'assistant', content: '\\":' },
      ],
      metadata: { model: 'same key, other object' },
    })
    expect(parse(text).body.model).toBe('gpt-4o')
  })

  it('refuses sizes that would distort the output reservation: negative, fractional, n out of range', () => {
    for (const [field, value] of [
      ['max_tokens', -5],
      ['max_completion_tokens', 1.5],
      ['max_output_tokens', '100'],
      ['n', 0],
      ['n', 1_000_000],
    ] as const) {
      expect(() => parse(JSON.stringify({ model: 'm', [field]: value })), field).toThrow(
        expect.objectContaining({ code: 'validation_failed', param: field }),
      )
    }
    expect(parse('{"model":"m","max_tokens":null,"n":2}').body.n).toBe(2)
  })
})

describe('the types of the fields the gateway acts on', () => {
  /** Each of these would pass a lax upstream (one that reads "true" as true, "20" as 20) unmetered. */
  const wrong: Array<[Endpoint, string, unknown]> = [
    ['responses', 'background', 'true'],
    ['responses', 'background', 1],
    ['responses', 'store', 'false'],
    ['chat', 'tools', { 0: { type: 'web_search_preview' } }],
    ['chat', 'tools', ['web_search_preview']],
    ['responses', 'tools', [{ name: 'no type' }]],
    ['responses', 'tools', [{ type: 1 }]],
    ['chat', 'tool_choice', 1],
    ['chat', 'functions', { name: 'f' }],
    ['completions', 'best_of', '20'],
    ['completions', 'best_of', 0],
    ['chat', 'n', '5'],
    ['chat', 'stream', 'yes'],
    ['chat', 'stream', 1],
    ['chat', 'stream_options', true],
    ['chat', 'stream_options', { include_usage: 'true' }],
    ['chat', 'max_tokens', '9999'],
    ['chat', 'max_completion_tokens', '9999'],
    ['responses', 'max_output_tokens', '9999'],
    ['chat', 'service_tier', 1],
    ['chat', 'service_tier', ['priority']],
    ['chat', 'web_search_options', 'on'],
    ['chat', 'user', 42],
    ['chat', 'modalities', 'audio'],
    ['responses', 'previous_response_id', 123],
    ['responses', 'previous_response_id', { id: 'resp_1' }],
    ['responses', 'conversation', 7],
    ['responses', 'conversation', { id: 7 }],
    ['responses', 'prompt', 'pmpt_1'],
    ['responses', 'prompt', { id: 1 }],
    ['responses', 'input', 7],
    ['responses', 'input', { role: 'user', content: 'hi' }],
    ['responses', 'input', ['hi']],
    ['completions', 'prompt', { text: 'hi' }],
    ['completions', 'prompt', ['a', 1]],
    ['completions', 'prompt', [[1, 2], 'a']],
    ['embeddings', 'input', { text: 'hi' }],
    ['embeddings', 'input', [1, 'a']],
    ['embeddings', 'input', [1.5]],
    ['chat', 'messages', { role: 'user', content: 'hi' }],
    ['chat', 'messages', ['hi']],
    ['chat', 'messages', [{ role: 7, content: 'hi' }]],
    ['chat', 'messages', [{ role: 'user', content: 7 }]],
    ['chat', 'messages', [{ role: 'user', content: ['part'] }]],
  ]
  it.each(wrong)('%s: %s = %j is 400 naming the field', (endpoint, field, value) => {
    const text = JSON.stringify({ model: 'gpt-4o', [field]: value })
    expect(() => parse(text, endpoint)).toThrow(
      expect.objectContaining({
        status: 400,
        type: 'invalid_request_error',
        param: expect.stringMatching(new RegExp(`^${field}(\\.|$)`)),
      }),
    )
  })

  it("accepts every shape OpenAI documents for them, null included, and keeps the client's bytes", () => {
    const right: Array<[Endpoint, Record<string, unknown>]> = [
      [
        'chat',
        {
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: [{ type: 'text', text: 'hi' }] },
            { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] },
            { role: 'tool', tool_call_id: 'c', content: 'ok' },
          ],
          tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
          tool_choice: { type: 'function', function: { name: 'f' } },
          functions: [{ name: 'f' }],
          stream: true,
          stream_options: { include_usage: true },
          n: 2,
          max_tokens: null,
          service_tier: 'auto',
          user: 'u-1',
          modalities: ['text'],
          web_search_options: {},
          store: false,
          unknown_field: { anything: ['goes', 1] },
        },
      ],
      ['chat', { messages: [], tool_choice: 'auto', tools: null, background: null }],
      ['completions', { prompt: 'hi', best_of: 3, n: 2 }],
      ['completions', { prompt: ['a', 'b'] }],
      ['completions', { prompt: [1, 2, 3] }],
      ['completions', { prompt: [[1, 2], [3]] }],
      ['embeddings', { input: 'hi' }],
      ['embeddings', { input: ['a', 'b'] }],
      ['embeddings', { input: [1, 2] }],
      ['embeddings', { input: [[1], [2, 3]] }],
      ['responses', { input: 'hi', background: false, store: true, max_output_tokens: 5 }],
      [
        'responses',
        {
          input: [
            { role: 'user', content: 'hi' },
            { type: 'item_reference', id: 'msg_1' },
          ],
          previous_response_id: 'resp_1',
          prompt: { id: 'pmpt_1', version: '2', variables: { x: 'y' } },
          tools: [{ type: 'web_search_preview' }],
          tool_choice: 'required',
        },
      ],
      ['responses', { conversation: 'conv_1' }],
      ['responses', { conversation: { id: 'conv_1' } }],
    ]
    for (const [endpoint, fields] of right) {
      const text = JSON.stringify({ model: 'gpt-4o', ...fields })
      const request = parse(text, endpoint)
      expect(upstreamBody(request, false).toString(), text).toBe(text)
    }
  })
})

describe('usage in a JSON answer', () => {
  it('is found at the end without parsing the body, in both dialects', () => {
    const answer = {
      id: 'x',
      choices: [{ message: { content: 'the "usage": {"prompt_tokens": 999} trap' } }],
      usage: {
        prompt_tokens: 3,
        completion_tokens: 4,
        completion_tokens_details: { reasoning_tokens: 1 },
      },
    }
    expect(usageFromJsonBody(Buffer.from(JSON.stringify(answer, null, 2)))).toEqual({
      input: 3,
      output: 4,
      details: { reasoning: 1 },
    })
    const responses = { output: [], usage: { input_tokens: 8, output_tokens: 9 } }
    expect(usageFromJsonBody(Buffer.from(JSON.stringify(responses)))).toEqual({
      input: 8,
      output: 9,
    })
    expect(
      usageFromJsonBody(Buffer.from('{"data":[],"usage":{"prompt_tokens":5,"total_tokens":5}}')),
    ).toEqual({ input: 5, output: 0 })
  })

  it('is null when absent or null', () => {
    expect(usageFromJsonBody(Buffer.from('{"choices":[],"usage":null}'))).toBeNull()
    expect(usageFromJsonBody(Buffer.from('{"choices":[]}'))).toBeNull()
  })
})
