import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wav } from '../helpers/media.ts'
import { MEDIA_FEATURES, startMediaFixture } from '../helpers/media-fixture.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * Media requests are admitted as text ones are: the plan's features must
 * grant the model (403), the estimate must fit the quota (429), a bad body
 * is a 400; none of them sends anything upstream or leaves anything counted.
 * Once sent, a request is billed whatever the client does.
 */
const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }

describe('refused before anything goes upstream', () => {
  let f: ProxyFixture
  let noMedia: ProxyFixture
  beforeAll(async () => {
    // 10 characters of speech, 1,000 image units: a dall-e-3 hd image (2,000) does not fit.
    f = await startMediaFixture({
      plan: { quotas: { requests: 100, tokens_input: 10, tokens_output: 1_000 } },
    })
    noMedia = await startProxyFixture({ config: { features: MEDIA_FEATURES } })
  })
  afterAll(async () => {
    await f?.close()
    await noMedia?.close()
  })
  beforeEach(() => {
    f.upstream.reset()
  })

  async function expectRefused(error: unknown, status: number, code: string, fixture = f) {
    expect(error, String(error)).toBeInstanceOf(OpenAI.APIError)
    const apiError = error as InstanceType<typeof OpenAI.APIError>
    expect(apiError.status, JSON.stringify(apiError.error)).toBe(status)
    expect(apiError.code).toBe(code)
    expect(fixture.upstream.requests).toEqual([])
  }

  it('a model the plan does not grant: 403 model_not_allowed, for every media route', async () => {
    const client = await noMedia.client('no-media', { maxRetries: 0 })
    const calls: Array<() => Promise<unknown>> = [
      () => client.images.generate({ model: 'dall-e-3', prompt: 'x' }),
      () => client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' }),
      async () =>
        client.audio.transcriptions.create({
          model: 'whisper-1',
          file: await toFile(wav(1), 'a.wav', { type: 'audio/wav' }),
        }),
      () => client.moderations.create({ input: 'hello' }),
    ]
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e)
      await expectRefused(error, 403, 'model_not_allowed', noMedia)
    }
    expect((await noMedia.ledger('no-media')).used).toEqual(nothing)
  })

  it('an image once the output quota is spent: 429 insufficient_quota, nothing sent', async () => {
    const client = await f.client('img-429', { maxRetries: 0 })
    // Output is admitted while some is left (quota.outputAdmission "settled"), as for text:
    // the first hd image (2,000 units) passes the 1,000 limit, the next is refused.
    await client.images.generate({
      model: 'dall-e-3',
      prompt: 'x',
      quality: 'hd',
      size: '1024x1024',
    })
    f.upstream.reset()
    const error = await client.images
      .generate({ model: 'dall-e-3', prompt: 'x', quality: 'hd', size: '1024x1024' })
      .catch((e: unknown) => e)
    await expectRefused(error, 429, 'insufficient_quota')
    const ledger = await f.ledger('img-429')
    expect(ledger.used).toEqual({ requests: 1, tokens_input: 0, tokens_output: 2_000 })
    expect(ledger.reserved).toEqual(nothing)
  })

  it('speech longer than the input quota left: 429, nothing counted', async () => {
    const client = await f.client('tts-429', { maxRetries: 0 })
    const error = await client.audio.speech
      .create({ model: 'tts-1', voice: 'alloy', input: 'eleven char' })
      .catch((e: unknown) => e)
    await expectRefused(error, 429, 'insufficient_quota')
    expect((await f.ledger('tts-429')).used).toEqual(nothing)
  })

  it('bad bodies: 400 in the envelope, nothing sent, nothing counted', async () => {
    const noFile = new FormData()
    noFile.set('model', 'whisper-1')
    const twoModels = new FormData()
    twoModels.append('model', 'whisper-1')
    twoModels.append('model', 'gpt-4o-transcribe')
    twoModels.set('file', new Blob([wav(1)], { type: 'audio/wav' }), 'a.wav')
    const json = { 'content-type': 'application/json' }
    const cases: Array<[string, RequestInit & { json?: unknown }, string | null]> = [
      ['/v1/audio/transcriptions', { method: 'POST', body: twoModels }, 'model'],
      [
        '/v1/images/generations',
        {
          method: 'POST',
          headers: json,
          body: '{"model":"dall-e-2","prompt":"x","model":"dall-e-3"}',
        },
        'model',
      ],
      ['/v1/audio/speech', { method: 'POST', headers: json, body: '{"model":' }, null],
      ['/v1/audio/transcriptions', { method: 'POST', body: noFile }, 'file'],
      ['/v1/audio/transcriptions', { method: 'POST', json: { model: 'whisper-1' } }, null],
      ['/v1/audio/speech', { method: 'POST', json: { model: 'tts-1', voice: 'alloy' } }, 'input'],
      ['/v1/audio/speech', { method: 'POST', json: { voice: 'alloy', input: 'hi' } }, 'model'],
      [
        '/v1/images/generations',
        { method: 'POST', json: { model: 'dall-e-2', prompt: 'x', n: 11 } },
        'n',
      ],
      ['/v1/images/generations', { method: 'POST', json: { model: 'dall-e-2' } }, 'prompt'],
      ['/v1/moderations', { method: 'POST', json: { model: 'omni-moderation-latest' } }, 'input'],
    ]
    for (const [path, init, param] of cases) {
      const res = await f.fetch('bad-body', path, init)
      const body = (await res.json()) as { error: { type: string; param: string | null } }
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(body.error.type).toBe('invalid_request_error')
      expect(body.error.param).toBe(param)
    }
    expect(f.upstream.requests).toEqual([])
    expect((await f.ledger('bad-body')).used).toEqual(nothing)
  })

  it('an upstream 4xx passes through and releases the reservation', async () => {
    f.upstream.once({ status: 400 })
    const client = await f.client('img-400', { maxRetries: 0 })
    const error = await client.images
      .generate({ model: 'dall-e-2', prompt: 'x', size: '256x256' })
      .catch((e: unknown) => e)
    expect((error as { status?: number }).status).toBe(400)
    const ledger = await f.settled('img-400')
    expect(ledger.used).toEqual(nothing)
    expect(ledger.reserved).toEqual(nothing)
    f.upstream.reset()
  })
})

describe('a client that leaves mid-audio', () => {
  let f: ProxyFixture
  beforeAll(async () => {
    f = await startMediaFixture()
  })
  afterAll(async () => {
    await f?.close()
  })

  it('is billed the speech it asked for, and the upstream call is cancelled', async () => {
    f.upstream.once({ chunks: 10, audioBytesPerChunk: 4096, hangAfterChunks: 1 })
    const controller = new AbortController()
    const res = await f.fetch('tts-gone', '/v1/audio/speech', {
      method: 'POST',
      json: { model: 'tts-1', voice: 'alloy', input: 'A sentence of forty-two characters, or so.' },
      signal: controller.signal,
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.value?.length).toBeGreaterThan(0)
    controller.abort()
    const ledger = await f.settled('tts-gone')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 42,
      tokens_output: 0,
    })
    expect(ledger.reserved).toEqual(nothing)
    const deadline = Date.now() + 2_000
    while (!f.upstream.requests.at(-1)?.aborted && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(f.upstream.requests.at(-1)?.aborted).toBe(true)
  })

  it('a client gone before the answer is billed the reservation (sent upstream, never free)', async () => {
    f.upstream.once({ latencyMs: 300 })
    const controller = new AbortController()
    const pending = f
      .fetch('img-gone', '/v1/images/generations', {
        method: 'POST',
        json: { model: 'dall-e-2', prompt: 'x', size: '512x512', n: 2 },
        signal: controller.signal,
      })
      .catch(() => null)
    const deadline = Date.now() + 2_000
    while (f.upstream.requestsTo('/v1/images/generations').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    controller.abort()
    await pending
    const ledger = await f.settled('img-gone')
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 0,
      tokens_output: 900,
    })
  })
})
