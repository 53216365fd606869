import { createOpenAI } from '@ai-sdk/openai'
import { ChatOpenAI } from '@langchain/openai'
import { generateText, streamText } from 'ai'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TEXT } from '../helpers/fake-upstream.events.ts'
import * as compat from './compat-fixture.ts'
import { expectReport, IN_BAND } from './in-band-report.ts'

/**
 * The quota left, in-band (x-gateway-quota: include): what the answer carries,
 * checked on the wire against the ledger, and proven harmless through each
 * official client: with it on, each shows exactly what it shows with it off.
 */
const f = compat.useCompatFixture()
const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }]

/** The `x-gateway` comment lines of an SSE body, parsed. */
function comments(body: string): Array<Record<string, any>> {
  return body
    .split('\n')
    .filter((line) => line.startsWith(': x-gateway '))
    .map((line) => JSON.parse(line.slice(': x-gateway '.length)))
}

describe('the quota left, on the wire', () => {
  it('a chat stream: a comment line before [DONE] and x_gateway in the usage chunk, equal to the ledger', async () => {
    f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
    const res = await f.fetch('ib-stream', '/v1/chat/completions', {
      method: 'POST',
      headers: IN_BAND,
      json: {
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      },
    })
    const body = await res.text()
    const events = body.split('\n\n').filter(Boolean)
    expect(events.at(-1)).toBe('data: [DONE]')
    expect(events.at(-2)?.startsWith(': x-gateway ')).toBe(true)
    const [report] = comments(body)
    expectReport(report, 33, 9)
    const usageChunk = JSON.parse(events.at(-3)!.slice('data: '.length))
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: 33, completion_tokens: 9 })
    expect(usageChunk.x_gateway).toEqual(report)
    expect(res.headers.get('x-quota-reset')).toBe(String(report!.reset))
    await f.expectLedger('ib-stream', 33, 9)
  })

  it('a stream whose client did not ask for usage: the comment only, the usage chunk still cut', async () => {
    f.upstream.once({ usage: { input: 12, output: 7 }, chunks: 3 })
    const res = await f.fetch('ib-nousage', '/v1/chat/completions', {
      method: 'POST',
      headers: IN_BAND,
      json: { model: 'gpt-4o-mini', messages, stream: true },
    })
    const body = await res.text()
    expect(body).not.toContain('"usage":{')
    expectReport(comments(body)[0], 12, 7)
    await f.expectLedger('ib-nousage', 12, 7)
  })

  it('a Responses stream (no [DONE]): the comment at its end', async () => {
    f.upstream.once({ usage: { input: 22, output: 14 }, chunks: 4 })
    const res = await f.fetch('ib-responses', '/v1/responses', {
      method: 'POST',
      headers: IN_BAND,
      json: { model: 'gpt-4o', input: 'Hi', stream: true },
    })
    const body = await res.text()
    const events = body.split('\n\n').filter(Boolean)
    expect(events.at(-1)?.startsWith(': x-gateway ')).toBe(true)
    expect(events.at(-2)).toContain('response.completed')
    expectReport(comments(body)[0], 22, 14)
  })

  it('a JSON answer: x_gateway in the body', async () => {
    f.upstream.once({ usage: { input: 31, output: 8 } })
    const res = await f.fetch('ib-json', '/v1/chat/completions', {
      method: 'POST',
      headers: IN_BAND,
      json: { model: 'gpt-4o-mini', messages },
    })
    const answer = (await res.json()) as Record<string, any>
    expect(answer.choices[0].message.content).toBe(DEFAULT_TEXT)
    expectReport(answer.x_gateway, 31, 8)
    await f.expectLedger('ib-json', 31, 8)
  })

  it('without the header nothing is added', async () => {
    f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
    const res = await f.fetch('ib-off', '/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      },
    })
    const body = await res.text()
    expect(body).not.toContain('x-gateway')
    expect(body).not.toContain('x_gateway')
    f.upstream.once({ usage: { input: 31, output: 8 } })
    const json = await f.fetch('ib-off', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o-mini', messages },
    })
    expect(await json.text()).not.toContain('x_gateway')
  })
})

describe('harmless through every official client', () => {
  it('openai SDK: chat stream and JSON show the same with it on; the usage chunk carries x_gateway', async () => {
    const run = async (user: string, headers: Record<string, string>) => {
      f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
      const client = new OpenAI({
        baseURL: `${f.base}/v1`,
        apiKey: await f.token(user),
        defaultHeaders: headers,
      })
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      })
      const chunks: Array<Record<string, any>> = []
      for await (const chunk of stream) chunks.push(chunk as unknown as Record<string, any>)
      // The stream's settle lands after its answer: the next request's report counts from it.
      await f.settled(user)
      f.upstream.once({ usage: { input: 31, output: 8 } })
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
      return { chunks, answer: answer as unknown as Record<string, any> }
    }
    const off = await run('ib-oa-off', {})
    const on = await run('ib-oa-on', IN_BAND)
    const strip = (o: Record<string, any>) => {
      const { id, created, x_gateway, ...rest } = o
      return rest
    }
    expect(on.chunks.map(strip)).toEqual(off.chunks.map(strip))
    expect(strip(on.answer)).toEqual(strip(off.answer))
    expectReport(on.chunks.at(-1)?.x_gateway, 33, 9)
    expectReport(on.answer.x_gateway, 31, 8, { requests: 1, input: 33, output: 9 })
    await f.expectLedger('ib-oa-on', 33 + 31, 9 + 8, 2)
  })

  it('AI SDK: streamText and generateText on both models show the same with it on', async () => {
    for (const kind of ['chat', 'responses'] as const) {
      const run = async (user: string, headers: Record<string, string>) => {
        const openai = createOpenAI({
          baseURL: `${f.base}/v1`,
          apiKey: await f.token(user),
          headers,
        })
        const model = kind === 'chat' ? openai.chat('gpt-4o-mini') : openai('gpt-4o-mini')
        f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
        const streamed = streamText({ model, prompt: 'Hi', maxRetries: 0 })
        let text = ''
        for await (const delta of streamed.textStream) text += delta
        f.upstream.once({ usage: { input: 31, output: 8 } })
        const generated = await generateText({ model, prompt: 'Hi', maxRetries: 0 })
        return {
          text,
          usage: await streamed.usage,
          finish: await streamed.finishReason,
          generated: [generated.text, generated.usage, generated.finishReason],
        }
      }
      const off = await run(`ib-ai-${kind}-off`, {})
      const on = await run(`ib-ai-${kind}-on`, IN_BAND)
      expect(on, kind).toEqual(off)
      expect(on.text).toBe(DEFAULT_TEXT)
      await f.expectLedger(`ib-ai-${kind}-on`, 33 + 31, 9 + 8, 2)
    }
  })

  it('LangChain: invoke and stream on both APIs show the same with it on', async () => {
    for (const responses of [false, true]) {
      const run = async (user: string, headers: Record<string, string>) => {
        const model = new ChatOpenAI({
          model: 'gpt-4o-mini',
          apiKey: await f.token(user),
          configuration: { baseURL: `${f.base}/v1`, defaultHeaders: headers },
          useResponsesApi: responses,
          maxRetries: 0,
        })
        f.upstream.once({ usage: { input: 33, output: 9 }, chunks: 5 })
        let text = ''
        for await (const chunk of await model.stream('Hi')) text += chunk.text
        f.upstream.once({ usage: { input: 31, output: 8 } })
        const message = await model.invoke('Hi')
        return { text, content: message.content, usage: message.usage_metadata }
      }
      const tag = responses ? 'responses' : 'chat'
      const off = await run(`ib-lc-${tag}-off`, {})
      const on = await run(`ib-lc-${tag}-on`, IN_BAND)
      expect(on, tag).toEqual(off)
      expect(on.text).toBe(DEFAULT_TEXT)
      await f.expectLedger(`ib-lc-${tag}-on`, 33 + 31, 9 + 8, 2)
    }
  })
})
