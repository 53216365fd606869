import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/*
 * Large bodies (over 64 KiB) are read one at a time per user, paced, and a
 * user's others wait unread (src/pipeline/request/upload-turns.ts): a user's
 * many connections cost the event loop no more than one upload.
 */
let f: ProxyFixture
beforeAll(async () => {
  f = await startProxyFixture()
})
afterAll(async () => {
  await f?.close()
})

/** A chat body of exactly `size` bytes, large enough to be read in a turn. */
function largeBody(size: number): Buffer {
  const head = '{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"'
  const tail = '"}]}'
  return Buffer.from(head + 'a '.repeat((size - head.length - tail.length) / 2) + tail)
}

interface Answer {
  status: number
  body: string
  headers: Record<string, string | string[] | undefined>
}

/**
 * An upload under the test's control: `first` bytes are sent at once, the rest
 * when `finish()` is called. `answer` resolves when the gateway replies.
 */
async function upload(
  userId: string,
  body: Buffer,
  first = body.length,
  path = '/v1/chat/completions',
) {
  const url = new URL(`${f.base}${path}`)
  const req = httpRequest(url, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${await f.token(userId)}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  })
  // A refusal before reading closes the connection under the upload: the write may fail then.
  req.on('error', () => {})
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: response.headers,
        }),
      )
      response.on('error', reject)
    })
  })
  req.write(body.subarray(0, first))
  if (first === body.length) req.end()
  return {
    answer,
    finish: () => {
      req.end(body.subarray(first))
    },
  }
}

/** Resolves with the answer, or with null when none came within `ms`. */
const within = (answer: Promise<Answer>, ms: number) =>
  Promise.race([answer, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))])

describe(`large uploads, one at a time per user (${TEST_DIALECT})`, () => {
  it("reads a user's second large body only once the first is read; another user's is not held", async () => {
    const body = largeBody(200_000)
    const held = await upload('turns-a', body, 100_000)
    // Let the first one take the user's turn before the second arrives.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const second = await upload('turns-a', body)
    const other = await upload('turns-b', body)
    const otherAnswer = await other.answer
    expect(otherAnswer.status, otherAnswer.body).toBe(200)
    expect(await within(second.answer, 300), 'answered while the first upload was held').toBeNull()
    held.finish()
    const [first, next] = await Promise.all([held.answer, second.answer])
    expect(first.status, first.body).toBe(200)
    expect(next.status, next.body).toBe(200)
    expect((await f.settled('turns-a')).used.requests).toBe(2)
  })

  it('refuses a sixth large body while one is read and four wait: a retryable 429, unread, nothing reserved', async () => {
    const body = largeBody(200_000)
    const held = await upload('turns-c', body, 100_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const later = []
    for (let i = 0; i < 5; i++) later.push(await upload('turns-c', body))
    // Whichever came last: refused at once, while the first is still held.
    const refused = await within(Promise.race(later.map((u) => u.answer)), 10_000)
    expect(refused, 'no refusal while one upload was held and five more came').not.toBeNull()
    expect(refused!.status, refused!.body).toBe(429)
    expect(JSON.parse(refused!.body).error.code).toBe('rate_limit_exceeded')
    expect(refused!.headers['retry-after']).toBe('1')
    expect(refused!.headers.connection).toBe('close')
    held.finish()
    const answers = await Promise.all([held.answer, ...later.map((u) => u.answer)])
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 429])
    const ledger = await f.settled('turns-c')
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(5)
    expect(ledger.reserved.requests).toBe(0)
  })

  it("holds a user's large media and count_tokens bodies unread while their upload is read, as a chat body", async () => {
    // The counting worker started first (by another user's large body), so an unheld body is
    // answered in well under a second.
    expect((await (await upload('turns-warm', largeBody(200_000))).answer).status).toBe(200)
    const held = await upload('turns-e', largeBody(200_000), 100_000)
    // Long enough for the held upload to take the user's turn on a busy machine.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const prompt = 'A lighthouse at dawn. '.repeat(10_000)
    const image = await upload(
      'turns-e',
      Buffer.from(JSON.stringify({ model: 'gpt-image-1', prompt })),
      undefined,
      '/v1/images/generations',
    )
    const count = await upload(
      'turns-e',
      Buffer.from(
        JSON.stringify({
          model: 'claude-sonnet-4-5',
          messages: [{ role: 'user', content: prompt }],
        }),
      ),
      undefined,
      '/v1/messages/count_tokens',
    )
    const whileHeld = await within(Promise.race([image.answer, count.answer]), 1_500)
    expect(whileHeld, 'a media or count_tokens body answered while held').toBeNull()
    held.finish()
    const answers = await Promise.all([held.answer, image.answer, count.answer])
    // Read in turn, then answered: the chat served; the rest as this plan answers them.
    expect(answers[0]!.status, answers[0]!.body).toBe(200)
    for (const answer of answers.slice(1)) {
      expect(answer.status, answer.body).not.toBe(500)
      expect(JSON.parse(answer.body)).toBeTypeOf('object')
    }
  })

  it('sends a large body upstream byte for byte, with its content-length, never chunked', async () => {
    // 3 MiB with multibyte characters, so a chunk boundary falls inside one somewhere.
    const head = '{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"'
    const body = Buffer.from(`${head}${'Привет, 世界 '.repeat(160_000)}"}]}`)
    const before = f.upstream.requests.length
    const sent = await upload('turns-d', body)
    const answer = await sent.answer
    expect(answer.status, answer.body).toBe(200)
    const received = f.upstream.requests.slice(before)
    expect(received).toHaveLength(1)
    expect(received[0]!.headers['content-length']).toBe(String(body.length))
    expect(received[0]!.headers['transfer-encoding']).toBeUndefined()
    expect(received[0]!.rawBytes.equals(body), 'the bytes the upstream got differ').toBe(true)
  })
})
