import { afterEach, describe, expect, it } from 'vitest'
import { counterForModel } from '../../src/pipeline/estimate/tokenizer.ts'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { sleep } from '../helpers/fake-upstream.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * A client that leaves an Anthropic stream after its request went upstream is
 * billed (docs/billing-integrity.md), by the same policies as the OpenAI
 * routes: `cancel` bills message_start's input (exact, cache classes included)
 * and the output delivered, counted from the content_block_delta deltas; `drain`
 * reads on to message_delta and bills the upstream's own usage.
 */
let f: AnthropicFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const MODEL = 'claude-sonnet-4-6'
const TEXT = 'alpha beta gamma delta epsilon zeta eta theta'
/** What the fake's first two deltas carry (it cuts TEXT in 4 pieces of 12 characters). */
const DELIVERED = TEXT.slice(0, 24)
const THINKING = 'Let me think about the Greek alphabet.'

/** Streams a message and leaves once the client has read `until`; returns when the socket is gone. */
async function leaveMidStream(user: string, until: string) {
  const controller = new AbortController()
  const response = await f!.fetch(user, '/v1/messages', {
    method: 'POST',
    json: {
      model: MODEL,
      max_tokens: 4096,
      stream: true,
      messages: [{ role: 'user', content: 'Greek letters?' }],
    },
    signal: controller.signal,
  })
  expect(response.status).toBe(200)
  const reader = response.body!.getReader()
  let text = ''
  while (!text.includes(until)) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the stream ended before "${until}": ${text}`)
    text += new TextDecoder().decode(value)
  }
  controller.abort()
  return text
}

describe(`Anthropic stream, client gone mid-stream (${TEST_DIALECT})`, () => {
  it('cancel: message_start’s input and cache classes, plus the delivered thinking and text; the upstream call is cut', async () => {
    f = await startAnthropicFixture()
    f.anthropic.once({
      blocks: [
        { type: 'thinking', thinking: THINKING },
        { type: 'text', text: TEXT },
      ],
      deltasPerBlock: 4,
      // The thinking's four deltas, then two of the text's; then silence.
      hangAfterDeltas: 6,
      usage: { input: 40, cacheWrite: 200, cacheRead: 3000, output: 500 },
    })
    await leaveMidStream('cancel-user', JSON.stringify(DELIVERED.slice(12)).slice(1, -1))
    const ledger = await f.settled('cancel-user')
    const count = counterForModel(MODEL)
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 40 + 200 + 3000,
      tokens_output: count(THINKING + DELIVERED),
    })
    // The output is the gateway's count, and marked so.
    const output = ledger.usage.find((row) => row.metric === 'tokens_output')!
    expect(output.estimated).toBe(1)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
    const sent = f.anthropic.requests.at(-1)!
    for (let i = 0; i < 100 && !sent.aborted; i++) await sleep(20)
    expect(sent.aborted, 'the upstream call was cut').toBe(true)
  })

  it('drain: the gateway reads on after the client left, and bills message_delta’s usage exactly', async () => {
    f = await startAnthropicFixture({ config: { quota: { disconnectPolicy: 'drain' } } })
    let left: () => void = () => {}
    const clientLeft = new Promise<void>((resolve) => {
      left = resolve
    })
    f.anthropic.once({
      blocks: [{ type: 'text', text: TEXT }],
      deltasPerBlock: 4,
      // The rest of the answer comes only once the client is gone.
      beforeDelta: (index) => (index === 2 ? clientLeft : undefined),
      usage: { input: 40, cacheWrite: 200, cacheRead: 3000, output: 500 },
    })
    await leaveMidStream('drain-user', JSON.stringify(DELIVERED.slice(12)).slice(1, -1))
    await sleep(50)
    left()
    const ledger = await f.settled('drain-user')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 3240,
      tokens_output: 500,
    })
    expect(ledger.usage.every((row) => row.estimated === 0)).toBe(true)
  })
})
