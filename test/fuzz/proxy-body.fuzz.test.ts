import { monitorEventLoopDelay } from 'node:perf_hooks'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/*
 * The request parser and the estimator under arbitrary JSON, through the real
 * app (app.request, no socket: a few ms a request): never a 500, and a body
 * the gateway refuses (4xx) changes nothing in the ledger. Bodies are built
 * around the fields the parser and the estimator read (model, messages,
 * content parts, prompt, input, tools, max_tokens, n, stream...) with
 * arbitrary values, so the fuzzing reaches past the first validation.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60)
const PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses']

const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
)
const anyJson = fc.jsonValue({ maxDepth: 4 })
const contentPart = fc.record(
  {
    type: fc.constantFrom('text', 'image_url', 'input_text', 'input_image', 'x'),
    text: fc.oneof(fc.string({ maxLength: 30 }), anyJson),
    content: anyJson,
  },
  { requiredKeys: [] },
)
const content = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(contentPart, { maxLength: 3 }),
  fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }),
  anyJson,
)
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), scalar),
    content,
    name: scalar,
    tool_calls: anyJson,
  },
  { requiredKeys: [] },
)
const body = fc.record(
  {
    model: fc.oneof(
      fc.constantFrom('gpt-4o-mini', 'gpt-4o', 'gpt-3.5-turbo', 'llama-3', ''),
      scalar,
    ),
    messages: fc.oneof(fc.array(message, { maxLength: 3 }), anyJson),
    prompt: content,
    input: content,
    instructions: scalar,
    tools: anyJson,
    max_tokens: scalar,
    max_completion_tokens: scalar,
    max_output_tokens: scalar,
    n: scalar,
    best_of: scalar,
    stream: fc.oneof(fc.boolean(), scalar),
    stream_options: fc.oneof(fc.record({ include_usage: scalar }, { requiredKeys: [] }), scalar),
  },
  { requiredKeys: [] },
)
const rawBody = fc.oneof(
  body.map((b) => JSON.stringify(b)),
  anyJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 60 }),
  // Valid JSON with its bytes damaged.
  body.chain((b) => {
    const text = JSON.stringify(b)
    return fc.nat({ max: Math.max(text.length - 1, 0) }).map((cut) => text.slice(0, cut))
  }),
)

/*
 * The hostile corpus: the tokenizer's and the JSON parser's worst shapes (a
 * run of ASCII spaces, of spaces mixed with U+3000 / U+2028 / no-break spaces,
 * CJK without a space, many small parts, an object of many keys), each small
 * or past the size that is parsed off the event loop, in any field.
 */
const SPACES = [' ', '\u3000', '\u2028', '\t', '\u00a0', '\n']
const hostileText = fc.oneof(
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => ' '.repeat(n)),
  fc
    .tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.integer({ min: 1, max: 97 }))
    .map(([n, step]) =>
      Array.from({ length: n }, (_, i) => SPACES[(i * step) % SPACES.length]).join(''),
    ),
  fc
    .integer({ min: 1_000, max: 60_000 })
    .map((n) =>
      Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join(
        '',
      ),
    ),
)
const hostileValue = fc.oneof(
  hostileText,
  fc
    .integer({ min: 1_000, max: 30_000 })
    .map((n) => Array.from({ length: n }, () => ({ type: 'text', text: 'hi' }))),
  fc
    .integer({ min: 1_000, max: 30_000 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']))),
)
const hostileBody = fc
  .tuple(fc.constantFrom('content', 'instructions', 'metadata', 'tools', 'x_unknown'), hostileValue)
  .map(([field, value]) => {
    const message =
      field === 'content' ? { role: 'user', content: value } : { role: 'user', content: 'hi' }
    const extra = field === 'content' ? {} : { [field]: value }
    return JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 1,
      messages: [message],
      input: [message],
      ...extra,
    })
  })

/** The longest the gateway may hold the event loop for one hostile body (ms). */
const HOLD_BOUND_MS = 250

describe(`fuzz: request parser and estimator (${TEST_DIALECT})`, () => {
  let fx: ProxyFixture
  let token: string
  beforeAll(async () => {
    fx = await startProxyFixture()
    token = await fx.token('fuzz')
  })
  afterAll(async () => fx?.close())

  const send = (path: string, text: string) =>
    fx.h.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: text,
    })

  it('never answers 500 to any body on any proxied endpoint; a refused body changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), rawBody, async (path, text) => {
        const before = await fx.ledger('fuzz')
        const response = await send(path, text)
        const answer = await response.text()
        expect(response.status, `${path} ${text.slice(0, 300)} -> ${answer}`).not.toBe(500)
        if (response.status >= 400) {
          expect(JSON.parse(answer).error.code, answer).toBeTypeOf('string')
          const after = await fx.ledger('fuzz')
          expect(after.used).toEqual(before.used)
          expect(after.usage.length).toBe(before.usage.length)
        }
        const settled = await fx.settled('fuzz')
        expect(settled.reservations).toBe(0)
      }),
      { numRuns: RUNS },
    )
  }, 60_000)

  it('answers the hostile corpus without holding the event loop: no 500, a refusal changes nothing', async () => {
    // The loop is watched while the gateway has a body, not while the fuzzer builds the next
    // one (JSON.stringify of a 200,000-character string, a 30,000-key object, on this same loop).
    const delay = monitorEventLoopDelay({ resolution: 5 })
    /** The longest the loop was held while `path` answered `text`, and the answer. */
    const watched = async (path: string, text: string) => {
      delay.reset()
      delay.enable()
      try {
        const response = await send(path, text)
        return { response, answer: await response.text(), heldMs: delay.max / 1e6 }
      } finally {
        delay.disable()
      }
    }
    // A body that holds the loop does so every time it is sent; a busy machine's pause (two
    // test passes share two cores) does not come back for the same body: a body over the
    // bound is sent twice more, and its shortest hold is what it costs.
    let worst = { heldMs: 0, body: '' }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), hostileBody, async (path, text) => {
        const before = await fx.ledger('fuzz')
        const { response, answer, heldMs } = await watched(path, text)
        expect(response.status, `${path} ${text.slice(0, 200)} -> ${answer}`).not.toBe(500)
        if (response.status >= 400) {
          expect(JSON.parse(answer).error.code, answer).toBeTypeOf('string')
          expect((await fx.ledger('fuzz')).used).toEqual(before.used)
        }
        expect((await fx.settled('fuzz')).reservations).toBe(0)
        let held = heldMs
        for (let retry = 0; retry < 2 && held >= HOLD_BOUND_MS; retry++) {
          held = Math.min(held, (await watched(path, text)).heldMs)
        }
        if (held > worst.heldMs) worst = { heldMs: held, body: `${path} ${text.slice(0, 120)}` }
      }),
      { numRuns: Math.max(10, Math.floor(RUNS / 3)) },
    )
    // Before the estimator cut every long piece, one 48 KB run of spaces held the loop 1.5-2.4 s.
    expect(worst.heldMs, worst.body).toBeLessThan(HOLD_BOUND_MS)
  }, 120_000)

  it('answers a deeply nested body with a clear 400, wherever the nesting is', async () => {
    const depth = 100_000
    const deep = (open: string, close: string) => open.repeat(depth) + close.repeat(depth)
    const bodies = [
      `{"model":"gpt-4o","messages":[{"role":"user","content":${deep('[', ']')}}]}`,
      `{"model":"gpt-4o","messages":[{"role":"user","content":${deep('{"content":', '}').replace(/:}/, ':"x"}')}}]}`,
      `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":${deep('[', ']')}}`,
      `{"model":"gpt-4o","input":${deep('{"input":', '}').replace(/:}/, ':"x"}')}}`,
    ]
    const sentBefore = fx.upstream.requests.length
    for (const path of PATHS) {
      for (const text of bodies) {
        const before = await fx.ledger('fuzz')
        const response = await send(path, text)
        const answer = await response.text()
        expect(response.status, `${path} -> ${answer.slice(0, 300)}`).toBe(400)
        expect(JSON.parse(answer).error.message).toMatch(/nest/i)
        expect((await fx.ledger('fuzz')).used).toEqual(before.used)
      }
    }
    expect(fx.upstream.requests.length).toBe(sentBefore)
  }, 60_000)
})
