import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import type OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { estimateInputTokens } from '../../src/pipeline/estimate/estimate.ts'
import { sleep } from '../helpers/fake-upstream.ts'
import {
  expectBilledExactly,
  type ProxyFixture,
  startProxyFixture,
} from '../helpers/proxy-fixture.ts'

/** Streams pass through as they arrive; a client that leaves aborts the upstream and pays what it got. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: 'Stream to me' }],
  stream: true as const,
}
const estimate = estimateInputTokens('chat', chat.model, chat)
const zero = { requests: 0, tokens_input: 0, tokens_output: 0 }

/** A gate the upstream waits on; it records whether the test opened it or the timeout did. */
function gate(timeoutMs: number) {
  let open: (byTest: boolean) => void = () => {}
  const opened = new Promise<boolean>((resolve) => {
    open = resolve
    setTimeout(() => resolve(false), timeoutMs)
  })
  return { opened, open: () => open(true) }
}

describe('time to first byte', () => {
  it('a chunk the upstream sends is readable by the client before the upstream sends the next one', async () => {
    f = await startProxyFixture()
    for (const includeUsage of [false, true]) {
      const held = gate(3000)
      // The upstream sends its first content chunk, then waits until the client has read it.
      f.upstream.once({
        chunks: 3,
        beforeChunk: (i) => (i === 1 ? held.opened.then(() => {}) : undefined),
      })
      const client = await f.client('ttfb-user')
      const stream = await client.chat.completions.create({
        ...chat,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      })
      let text = ''
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (text === 'Hello from') held.open()
      }
      expect(
        await held.opened,
        `the client read chunk 1 before chunk 2 was sent (include_usage ${includeUsage})`,
      ).toBe(true)
      expect(text).toBe('Hello from the fake upstream!')
    }
  })
})

describe('client abort mid-stream', () => {
  async function readThenAbort(client: OpenAI) {
    const controller = new AbortController()
    const stream = await client.chat.completions.create(chat, { signal: controller.signal })
    let text = ''
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (text) controller.abort()
      }
    } catch {
      // The SDK raises APIUserAbortError.
    }
    return text
  }

  it('cancel policy: the upstream call is aborted and the client pays the prompt plus what it received', async () => {
    f = await startProxyFixture({ config: { quota: { disconnectPolicy: 'cancel' } } })
    f.upstream.once({ chunks: 3, hangAfterChunks: 1 })
    const received = await readThenAbort(await f.client('abort-user', { maxRetries: 0 }))
    expect(received).toBe('Hello from')
    const ledger = await f.settled('abort-user')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: estimate,
      tokens_output: countTokens('Hello from'),
    })
    expect(ledger.reserved).toEqual(zero)
    expect(ledger.reservations).toBe(0)
    const upstreamCall = f.upstream.requests.at(-1)!
    for (let i = 0; i < 50 && !upstreamCall.aborted; i++) await sleep(20)
    expect(upstreamCall.aborted, 'the gateway aborted the upstream request').toBe(true)
  })

  it('drain policy: the upstream is read to its end and the true usage is billed', async () => {
    f = await startProxyFixture({
      config: { quota: { disconnectPolicy: 'drain', drainTimeoutMs: 5000 } },
    })
    const held = gate(3000)
    f.upstream.once({
      chunks: 3,
      usage: { input: 33, output: 44 },
      beforeChunk: (i) => (i === 1 ? held.opened.then(() => sleep(100)) : undefined),
    })
    const client = await f.client('drain-user', { maxRetries: 0 })
    const reading = readThenAbort(client)
    expect(await reading).toBe('Hello from')
    held.open()
    const deadline = Date.now() + 3000
    let ledger = await f.settled('drain-user')
    while (ledger.used.requests === 0 && Date.now() < deadline) {
      await sleep(20)
      ledger = await f.settled('drain-user')
    }
    expectBilledExactly(ledger, 33, 44)
    expect(f.upstream.requests.at(-1)!.aborted).toBe(false)
  })

  it('a client that leaves before the answer starts, once the request went upstream, pays the request and its input (cancel policy)', async () => {
    f = await startProxyFixture()
    f.upstream.once({ latencyMs: 1000 })
    const controller = new AbortController()
    const client = await f.client('early-abort-user', { maxRetries: 0 })
    const call = client.chat.completions
      .create(chat, { signal: controller.signal })
      .catch((e: unknown) => e)
    for (let i = 0; i < 100 && f.upstream.requests.length === 0; i++) await sleep(10)
    controller.abort()
    await call
    const ledger = await f.settled('early-abort-user')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: estimate,
      tokens_output: 0,
    })
    expect(ledger.reserved).toEqual(zero)
    expect(ledger.reservations).toBe(0)
  })
})
