import { readdirSync, readFileSync } from 'node:fs'
import { encodeChat, countTokens as exactO200k } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import {
  estimateInput,
  estimateInputTokens,
  estimateOutputReserve,
} from '../../src/pipeline/estimate/estimate.ts'
import { counterForModel } from '../../src/pipeline/estimate/tokenizer.ts'

const quota = { defaultOutputReserve: 1000, maxOutputReserve: 4000 }

/** ~750 KB of varied real prose and code: the READMEs of the installed packages. */
function corpus(): string {
  let text = ''
  for (const name of readdirSync('node_modules')) {
    try {
      text += `${readFileSync(`node_modules/${name}/README.md`, 'utf8')}\n`
    } catch {}
  }
  return text
}

describe('input estimate', () => {
  it("counts a chat exactly as OpenAI frames it (gpt-tokenizer's encodeChat for gpt-4o)", () => {
    const messages = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Привет! How many tokens is this?' },
      { role: 'assistant', content: 'Let me count.' },
    ]
    const expected = encodeChat(messages as never, 'gpt-4o').length
    expect(estimateInputTokens('chat', 'gpt-4o', { model: 'gpt-4o', messages })).toBe(expected)
  })

  it('counts content parts, names, tool calls and images', () => {
    const plain = estimateInputTokens('chat', 'gpt-4o', {
      messages: [{ role: 'user', content: 'hi there' }],
    })
    const parts = estimateInputTokens('chat', 'gpt-4o', {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hi there' },
            { type: 'image_url', image_url: { url: 'data:x', detail: 'low' } },
          ],
        },
      ],
    })
    // The image at detail low (85) and the part types and detail as text; never the URL as text.
    expect(parts).toBe(plain + 85 + exactO200k('text\nimage_url\nlow') + 1)
    const named = estimateInputTokens('chat', 'gpt-4o', {
      messages: [{ role: 'user', name: 'bob', content: 'hi there' }],
    })
    expect(named).toBeGreaterThan(plain + 1)
    const withTools = estimateInputTokens('chat', 'gpt-4o', {
      messages: [{ role: 'user', content: 'hi there' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
      ],
    })
    expect(withTools).toBeGreaterThan(plain + 5)
  })

  it('uses the right encoding per model family and o200k with a margin for unknown models', () => {
    const text = 'Быстрая коричневая лиса прыгает через ленивую собаку, the quick brown fox.'
    expect(counterForModel('gpt-4o-mini')(text)).toBe(exactO200k(text))
    expect(counterForModel('gpt-3.5-turbo')(text)).not.toBe(exactO200k(text))
    expect(counterForModel('claude-3-opus')(text)).toBe(Math.ceil(exactO200k(text) * 1.35))
  })

  it('estimates completions prompts, token-id prompts, embeddings inputs and Responses inputs', () => {
    expect(
      estimateInputTokens('completions', 'gpt-3.5-turbo-instruct', { prompt: [1, 2, 3, 4] }),
    ).toBe(4)
    expect(
      estimateInputTokens('embeddings', 'text-embedding-3-small', { input: 'hello world' }),
    ).toBe(2)
    expect(
      estimateInputTokens('embeddings', 'text-embedding-3-small', {
        input: ['hello world', 'hello'],
      }),
    ).toBe(4)
    const responses = estimateInputTokens('responses', 'gpt-4o', {
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello world' }] }],
    })
    // The part's type is text too: it is a string of the body.
    expect(responses).toBe(exactO200k('Be brief.\ninput_text\nhello world') + 4 + 3)
    expect(estimateInputTokens('responses', 'gpt-4o', { input: 'hello world' })).toBe(2 + 4 + 3)
  })

  it('estimates an 8,000-token prompt at or above the exact count, within 25 % (its speed is measured by npm run bench)', () => {
    const text = corpus()
    const prompts = Array.from({ length: 12 }, (_, i) =>
      text.slice(i * 40_000 + 7, i * 40_000 + 32_007),
    )
    const body = (content: string) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }] })
    for (const prompt of prompts.slice(0, 11)) {
      const estimate = estimateInputTokens('chat', 'gpt-4o', body(prompt))
      const exact = exactO200k(prompt) + 7
      expect(exact, 'the prompt is about 8,000 tokens').toBeGreaterThan(6_000)
      expect(estimate, 'the count is exact').toBeGreaterThanOrEqual(exact)
      expect((estimate - exact) / exact, `estimate ${estimate} vs exact ${exact}`).toBeLessThan(
        0.25,
      )
    }
  })
})

describe('the whole request', () => {
  const hi = { role: 'user', content: 'hi' }
  const base = estimateInputTokens('chat', 'gpt-4o', { messages: [hi] })
  const words = 'The quick brown fox jumps over the lazy dog. '.repeat(50)
  const exact = exactO200k(words)

  it.each([
    [
      'response_format',
      { response_format: { type: 'json_schema', json_schema: { schema: { description: words } } } },
    ],
    ['prediction', { prediction: { type: 'content', content: words } }],
    ['metadata', { metadata: { note: words } }],
    ['an unknown field', { x_doc: words }],
    ['a key of an unknown field', { x_doc: { [words]: 1 } }],
    ['tools', { tools: [{ type: 'function', function: { name: 'f', description: words } }] }],
  ])('counts text hidden in %s', (_name, extra) => {
    expect(
      estimateInputTokens('chat', 'gpt-4o', { messages: [hi], ...extra }),
    ).toBeGreaterThanOrEqual(base + exact)
  })

  it('counts an unknown message key and its value', () => {
    const body = { messages: [{ ...hi, notes: words }] }
    expect(estimateInputTokens('chat', 'gpt-4o', body)).toBeGreaterThanOrEqual(base + exact)
  })

  it('bills audio and files by their decoded size, not their base64 as text', () => {
    const data = Buffer.alloc(30_000, 1).toString('base64')
    const audio = estimateInputTokens('chat', 'gpt-4o', {
      messages: [
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data, format: 'wav' } }] },
      ],
    })
    expect(audio - base).toBeGreaterThanOrEqual(300) // 30,000 bytes / 100
    expect(audio - base).toBeLessThan(320)
    const file = estimateInputTokens('chat', 'gpt-4o', {
      messages: [
        {
          role: 'user',
          content: [{ type: 'file', file: { file_data: `data:application/pdf;base64,${data}` } }],
        },
      ],
    })
    expect(file - base).toBeGreaterThanOrEqual(30_000 + 1445) // a byte a token, plus one page picture
    expect(file - base).toBeLessThan(30_000 + 1445 + 20)
  })

  it('names what it cannot see: previous_response_id, conversation, a stored prompt, file ids and URLs', () => {
    const { unknown } = estimateInput('responses', 'gpt-4o', {
      previous_response_id: 'resp_1',
      conversation: { id: 'conv_1' },
      prompt: { id: 'pmpt_1', variables: { x: 'y' } },
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_file', file_id: 'file-1' },
            { type: 'input_file', file_url: 'https://example.com/a.pdf' },
          ],
        },
      ],
    })
    expect(unknown.sort()).toEqual([
      'conversation',
      'file_id',
      'file_url',
      'previous_response_id',
      'prompt',
    ])
    expect(
      estimateInput('responses', 'gpt-4o', { input: 'hi', previous_response_id: null }).unknown,
    ).toEqual([])
    expect(estimateInput('completions', 'gpt-4o', { prompt: 'hi' }).unknown).toEqual([])
  })
})

describe('output reserve', () => {
  it('takes max_completion_tokens, then max_tokens, clamped to the ceiling, times n', () => {
    expect(
      estimateOutputReserve('chat', { max_completion_tokens: 300, max_tokens: 50 }, quota),
    ).toBe(300)
    expect(estimateOutputReserve('chat', { max_tokens: 50 }, quota)).toBe(50)
    expect(estimateOutputReserve('chat', { max_tokens: 50_000 }, quota)).toBe(4000)
    expect(estimateOutputReserve('chat', { max_tokens: 50, n: 3 }, quota)).toBe(150)
    expect(estimateOutputReserve('chat', {}, quota)).toBe(1000)
    expect(estimateOutputReserve('chat', { max_tokens: -5 }, quota)).toBe(1000)
  })

  it('uses max_output_tokens for the Responses API, best_of and prompt count for completions, 0 for embeddings', () => {
    expect(
      estimateOutputReserve('responses', { max_output_tokens: 77, max_tokens: 5 }, quota),
    ).toBe(77)
    expect(estimateOutputReserve('completions', { max_tokens: 10, best_of: 4, n: 2 }, quota)).toBe(
      40,
    )
    expect(
      estimateOutputReserve('completions', { max_tokens: 10, prompt: ['a', 'b'] }, quota),
    ).toBe(20)
    expect(estimateOutputReserve('embeddings', { max_tokens: 10 }, quota)).toBe(0)
  })
})
