import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterEach, describe, expect, it } from 'vitest'
import { sweepStaleReservations } from '../../src/ledger/sweeper.ts'
import { sleep } from '../helpers/fake-upstream.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import {
  expectBilledExactly,
  type Ledger,
  type ProxyFixture,
  startProxyFixture,
} from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Billing integrity over the request's lifecycle (docs/billing-integrity.md):
 * once a request went upstream it is never free, whoever leaves and however
 * long it runs. The fake upstream bills like OpenAI: the prompt by the
 * cookbook's count (content + 7 for one user message), hidden reasoning
 * tokens inside completion_tokens.
 */
let f: ProxyFixture | undefined
const others: Harness[] = []
afterEach(async () => {
  for (const other of others.splice(0)) await other.close()
  await f?.close()
  f = undefined
})

const PROMPT = 'Summarise the attached quarterly report in three sentences, please.'
/** What the upstream bills for this prompt: 3 framing + 1 role + content + 3 reply priming. */
const UPSTREAM_PROMPT_TOKENS = countTokens(PROMPT) + 7
const chat = (model: string, stream: boolean) => ({
  model,
  messages: [{ role: 'user', content: PROMPT }],
  stream,
})
const zero = { requests: 0, tokens_input: 0, tokens_output: 0 }

/** A reasoning model's usage: most of the output is hidden reasoning, never streamed. */
const reasoningUsage = (input: number, visible: number, reasoning: number) => ({
  prompt_tokens: input,
  completion_tokens: visible + reasoning,
  total_tokens: input + visible + reasoning,
  completion_tokens_details: { reasoning_tokens: reasoning },
})

function gate(timeoutMs: number) {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
    setTimeout(resolve, timeoutMs)
  })
  return { opened, open }
}

async function untilUpstreamGot(count: number) {
  for (let i = 0; i < 300 && f!.upstream.requests.length < count; i++) await sleep(10)
  expect(f!.upstream.requests.length, 'the upstream received the request').toBe(count)
}

/** Polls until the user's usage is recorded and nothing stays reserved. */
async function billed(userId: string, timeoutMs = 5000): Promise<Ledger> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ledger = await f!.settled(userId, timeoutMs)
    if (ledger.used.requests > 0 || Date.now() > deadline) return ledger
    await sleep(20)
  }
}

async function reservationRows() {
  const rows = await f!.h.db.selectFrom('billing_reservation').select('request_id').execute()
  return rows.length
}

describe(`billing integrity: disconnects (${TEST_DIALECT})`, () => {
  for (const stream of [false, true]) {
    it(`a client that closes before the headers (${stream ? 'stream' : 'non-stream'}, slow first byte) pays the request and its input`, async () => {
      f = await startProxyFixture()
      f.upstream.once({ latencyMs: 1500, usage: { input: UPSTREAM_PROMPT_TOKENS, output: 9 } })
      const controller = new AbortController()
      const pending = f
        .fetch('early', '/v1/chat/completions', {
          method: 'POST',
          json: chat('gpt-4o-mini', stream),
          signal: controller.signal,
        })
        .catch((error: unknown) => error)
      await untilUpstreamGot(1)
      controller.abort()
      await pending
      const ledger = await billed('early')
      expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
      expect(ledger.used.tokens_input, JSON.stringify(ledger)).toBeGreaterThanOrEqual(
        UPSTREAM_PROMPT_TOKENS,
      )
      expect(ledger.used.tokens_output, JSON.stringify(ledger)).toBe(0)
      expect(ledger.reserved, JSON.stringify(ledger)).toEqual(zero)
      expect(await reservationRows()).toBe(0)
      // Cancel policy (the default for gpt-4o-mini): the upstream call was aborted.
      const sent = f.upstream.requests[0]!
      for (let i = 0; i < 100 && !sent.aborted; i++) await sleep(20)
      expect(sent.aborted).toBe(true)
    })
  }

  it('a client that closes before a reasoning model’s headers (non-stream) pays its true usage: the gateway waits for the answer', async () => {
    f = await startProxyFixture({ config: { quota: { drainTimeoutMs: 5000 } } })
    f.upstream.once({ latencyMs: 800, rawUsage: reasoningUsage(41, 20, 880) })
    const controller = new AbortController()
    const pending = f
      .fetch('early-o3', '/v1/chat/completions', {
        method: 'POST',
        json: chat('o3-mini', false),
        signal: controller.signal,
      })
      .catch((error: unknown) => error)
    await untilUpstreamGot(1)
    controller.abort()
    await pending
    const ledger = await billed('early-o3')
    expectBilledExactly(ledger, 41, 900)
    expect(f.upstream.requests[0]!.aborted).toBe(false)
  })

  it('a mid-stream disconnect from a reasoning model is billed the upstream’s true usage, hidden output included (drain)', async () => {
    f = await startProxyFixture({ config: { quota: { drainTimeoutMs: 5000 } } })
    const held = gate(3000)
    f.upstream.once({
      chunks: 3,
      rawUsage: reasoningUsage(41, 8, 1492),
      beforeChunk: (i) => (i === 1 ? held.opened.then(() => sleep(100)) : undefined),
    })
    const controller = new AbortController()
    const client = await f.client('drain-o4', { maxRetries: 0 })
    const stream = await client.chat.completions.create(
      { ...chat('o4-mini', true), stream: true } as never,
      { signal: controller.signal },
    )
    let text = ''
    try {
      for await (const chunk of stream as unknown as AsyncIterable<{
        choices: Array<{ delta: { content?: string } }>
      }>) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (text) controller.abort()
      }
    } catch {
      // APIUserAbortError
    }
    expect(text).toBe('Hello from')
    held.open()
    const ledger = await billed('drain-o4')
    expectBilledExactly(ledger, 41, 1500)
    expect(await reservationRows()).toBe(0)
    expect(f.upstream.requests[0]!.aborted).toBe(false)
  })
})

describe(`billing integrity: a drain is bounded in time (${TEST_DIALECT})`, () => {
  it('a reasoning model that stays silent after the client left is billed the output reserve once the drain bound passes', async () => {
    f = await startProxyFixture({ config: { quota: { drainTimeoutMs: 300 } } })
    f.upstream.once({ chunks: 3, hangAfterChunks: 1 })
    const controller = new AbortController()
    const response = await f.fetch('silent-o1', '/v1/chat/completions', {
      method: 'POST',
      json: { ...chat('o1-mini', true), max_completion_tokens: 200 },
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    let text = ''
    while (!text.includes('Hello from')) {
      const { value } = await reader.read()
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    const ledger = await billed('silent-o1')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
    expect(ledger.used.tokens_input, JSON.stringify(ledger)).toBeGreaterThanOrEqual(
      UPSTREAM_PROMPT_TOKENS,
    )
    expect(ledger.used.tokens_output, JSON.stringify(ledger)).toBe(200)
    expect(
      ledger.usage.filter((row) => row.metric !== 'requests').every((r) => r.estimated === 1),
    ).toBe(true)
    expect(ledger.reserved).toEqual(zero)
    const sent = f.upstream.requests[0]!
    for (let i = 0; i < 100 && !sent.aborted; i++) await sleep(20)
    expect(sent.aborted, 'the upstream call was cut at the bound').toBe(true)
  })
})

describe(`billing integrity: live reservations never expire (${TEST_DIALECT})`, () => {
  const TTL = 2

  it('a request that streams for 3 x the reservation TTL is billed exactly; sweepers running meanwhile leave it alone', async () => {
    f = await startProxyFixture({
      config: { quota: { reservationTtlSeconds: TTL, ownerDeadAfterSeconds: TTL } },
    })
    const replica = await createHarness({ shareDatabaseWith: f.h })
    others.push(replica)
    const h = f.h
    const sweeps: unknown[] = []
    f.upstream.once({
      chunks: 7,
      usage: { input: 25, output: 60 },
      // Between chunks one second passes (6 s = 3 x TTL); this process beats, as its timer
      // would, and both replicas' sweepers run.
      beforeChunk: async (i) => {
        if (i === 0) return
        h.clock.advance(1000)
        await h.liveness.tick()
        sweeps.push(await sweepStaleReservations(replica.deps))
        sweeps.push(await sweepStaleReservations(h.deps))
        const held = await reservationRows()
        expect(held, `chunk ${i}: the reservation is still held`).toBe(1)
      },
    })
    const response = await f.fetch('long', '/v1/chat/completions', {
      method: 'POST',
      json: chat('gpt-4o-mini', true),
    })
    const body = await response.text()
    expect(response.status, body).toBe(200)
    expect(body).toContain('[DONE]')
    expect(sweeps).toHaveLength(12)
    expect(sweeps.every((s) => JSON.stringify(s) === '{"settled":0,"released":0}')).toBe(true)
    const ledger = await billed('long')
    expectBilledExactly(ledger, 25, 60)
  })

  it('a settle after the reservation was swept (its process looked dead) records the true usage exactly once', async () => {
    // This process beats once at start and then not again: to the replica it looks dead.
    f = await startProxyFixture({
      config: { quota: { heartbeatIntervalMs: 3_600_000, ownerDeadAfterSeconds: 15 } },
    })
    const replica = await createHarness({ shareDatabaseWith: f.h })
    others.push(replica)
    const held = gate(5000)
    f.upstream.once({
      chunks: 2,
      usage: { input: 25, output: 60 },
      beforeChunk: (i) => (i === 1 ? held.opened : undefined),
    })
    const pending = f.fetch('paused', '/v1/chat/completions', {
      method: 'POST',
      json: chat('gpt-4o-mini', true),
    })
    await untilUpstreamGot(1)
    f.h.clock.advance(16_000)
    await replica.liveness.tick()
    const swept = await sweepStaleReservations(replica.deps)
    expect(swept).toEqual({ settled: 1, released: 0 })
    const estimated = await f.ledger('paused')
    expect(estimated.used.requests, JSON.stringify(estimated)).toBe(1)
    expect(estimated.usage.some((row) => row.estimated === 1)).toBe(true)
    held.open()
    const response = await pending
    expect(response.status).toBe(200)
    await response.text()
    let ledger = await f.ledger('paused')
    for (let i = 0; i < 100 && ledger.used.tokens_output !== 60; i++) {
      await sleep(20)
      ledger = await f.ledger('paused')
    }
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 25,
      tokens_output: 60,
    })
    expect(ledger.reserved).toEqual(zero)
    const sum = (metric: string) =>
      ledger.usage.filter((row) => row.metric === metric).reduce((n, row) => n + row.amount, 0)
    expect([sum('requests'), sum('tokens_input'), sum('tokens_output')]).toEqual([1, 25, 60])
    expect(f.h.logText()).toContain('BILLING recorded the usage of a request whose reservation')
    expect(f.h.logs.filter((line) => String(line.msg).startsWith('Tracked'))).toHaveLength(1)
  })
})
