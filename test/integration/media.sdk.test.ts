import { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAKE_TRANSCRIPT } from '../helpers/fake-upstream.media.ts'
import { wav } from '../helpers/media.ts'
import { startMediaFixture } from '../helpers/media-fixture.ts'
import { expectBilledExactly, type ProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'
import { perMetric } from '../helpers/usage-rows.ts'

/**
 * Every media route through the openai SDK, against a fake that answers as
 * OpenAI does: each billed exactly what docs/weights.md ("Media") says, from
 * the upstream's usage when it reports one, else from the request itself.
 */
let f: ProxyFixture
beforeAll(async () => {
  f = await startMediaFixture({
    config: {
      // A character of tts-1-hd ($30 / 1M) against a $0.15 / 1M unit input token, in thousandths.
      modelWeights: { 'tts-1-hd': { input: '200.005', output: 1 } },
      modelPrices: {
        'dall-e-3': { input: '0.000001', output: '40' },
        'tts-1': { input: '15', output: '0.000001' },
        'whisper-1': { input: '100', output: '0.000001' },
      },
    },
  })
})
afterAll(async () => {
  await f?.close()
})

/** The usage rows' cost, per metric, for one user. */
async function costs(userId: string) {
  const rows = perMetric(
    await f.h.db.selectFrom('billing_usage').selectAll().where('user_id', '=', userId).execute(),
  ).sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0))
  return Object.fromEntries(
    rows.map((r) => [r.metric, r.cost_micros === null ? null : Number(r.cost_micros)]),
  )
}

function lastUpstream() {
  const request = f.upstream.requests.at(-1)!
  expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
  return request
}

describe('images', () => {
  it('generate with dall-e-3: per image by size and quality (hd 1024x1024 = 2,000 units, $0.08)', async () => {
    const client = await f.client('img-dalle')
    const answer = await client.images.generate({
      model: 'dall-e-3',
      prompt: 'a lighthouse at dusk',
      size: '1024x1024',
      quality: 'hd',
    })
    expect(answer.data?.length, JSON.stringify(answer)).toBe(1)
    expectBilledExactly(await f.ledger('img-dalle'), 0, 2_000)
    expect(await costs('img-dalle')).toMatchObject({ tokens_output: 80_000 })
  })

  it('generate with dall-e-2, n = 3 at 256x256: 3 x 400 units', async () => {
    const client = await f.client('img-dalle2')
    const answer = await client.images.generate({
      model: 'dall-e-2',
      prompt: 'cats',
      n: 3,
      size: '256x256',
    })
    expect(answer.data?.length).toBe(3)
    expectBilledExactly(await f.ledger('img-dalle2'), 0, 1_200)
  })

  it('generate with gpt-image-1: the image tokens the answer reports', async () => {
    f.upstream.once({ usage: { input: 57, output: 1_056 } })
    const client = await f.client('img-gpt')
    const answer = await client.images.generate({
      model: 'gpt-image-1',
      prompt: 'a lighthouse at dusk',
      quality: 'medium',
    })
    expect(answer.usage?.output_tokens, JSON.stringify(answer)).toBe(1_056)
    expectBilledExactly(await f.ledger('img-gpt'), 57, 1_056)
  })

  it('edit with gpt-image-1 (multipart, the image forwarded byte for byte): the tokens reported', async () => {
    f.upstream.once({ usage: { input: 388, output: 4_160 } })
    const client = await f.client('img-edit')
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
    const answer = await client.images.edit({
      model: 'gpt-image-1',
      image: await toFile(png, 'lighthouse.png', { type: 'image/png' }),
      prompt: 'add a moon',
    })
    expect(answer.data?.length, JSON.stringify(answer)).toBe(1)
    const request = lastUpstream()
    expect(request.path).toBe('/v1/images/edits')
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(request.rawBytes.includes(png)).toBe(true)
    expectBilledExactly(await f.ledger('img-edit'), 388, 4_160)
  })
})

describe('audio', () => {
  it('speech with tts-1: the characters of input (code points, not UTF-16 units), $15 per 1M', async () => {
    const client = await f.client('tts')
    const input = 'Привет, world! 👋'
    const answer = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input })
    const audio = Buffer.from(await answer.arrayBuffer())
    expect(audio.length).toBe(1024)
    expect(answer.headers.get('content-type')).toBe('audio/mpeg')
    expectBilledExactly(await f.ledger('tts'), 16, 0)
    expect(await costs('tts')).toMatchObject({ tokens_input: 240 })
  })

  it('speech with tts-1-hd weighs its characters by the model weight, exact in thousandths', async () => {
    const client = await f.client('tts-hd')
    const answer = await client.audio.speech.create({
      model: 'tts-1-hd',
      voice: 'nova',
      input: 'Hello',
    })
    await answer.arrayBuffer()
    const ledger = await f.ledger('tts-hd')
    // ceil(5 x 200.005) = ceil(1000.025) = 1001 weighted tokens.
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 1,
      tokens_input: 1_001,
      tokens_output: 0,
    })
    const rows = await f.h.db
      .selectFrom('billing_usage')
      .selectAll()
      .where('user_id', '=', 'tts-hd')
      .execute()
    const raw = perMetric(rows).find((r) => r.metric === 'tokens_input')
    expect(Number(raw?.raw_amount)).toBe(5)
  })

  it('speech with gpt-4o-mini-tts as SSE: the usage of speech.audio.done', async () => {
    f.upstream.once({ usage: { input: 14, output: 101 } })
    const client = await f.client('tts-sse')
    const answer = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      input: 'Hello there',
      stream_format: 'sse',
    })
    expect(await answer.text()).toContain('speech.audio.done')
    expectBilledExactly(await f.ledger('tts-sse'), 14, 101)
  })

  it('transcription with whisper-1: the seconds usage reports ($0.006 a minute)', async () => {
    f.upstream.once({ seconds: 9 })
    const client = await f.client('stt')
    const answer = await client.audio.transcriptions.create({
      model: 'whisper-1',
      file: await toFile(wav(7.5), 'speech.wav', { type: 'audio/wav' }),
    })
    expect(answer.text, JSON.stringify(answer)).toBe(FAKE_TRANSCRIPT)
    expect(lastUpstream().rawBytes.includes(wav(7.5))).toBe(true)
    expectBilledExactly(await f.ledger('stt'), 9, 0)
    expect(await costs('stt')).toMatchObject({ tokens_input: 900 })
  })

  it('transcription as text (no usage in the answer): the seconds read from the audio, rounded up', async () => {
    const client = await f.client('stt-text')
    const answer = await client.audio.transcriptions.create({
      model: 'whisper-1',
      file: await toFile(wav(7.5), 'speech.wav', { type: 'audio/wav' }),
      response_format: 'text',
    })
    expect(String(answer)).toBe(FAKE_TRANSCRIPT)
    expectBilledExactly(await f.ledger('stt-text'), 8, 0)
  })

  it('transcription with gpt-4o-transcribe: the tokens usage reports', async () => {
    f.upstream.once({ usage: { input: 14, output: 45 } })
    const client = await f.client('stt-tokens')
    await client.audio.transcriptions.create({
      model: 'gpt-4o-transcribe',
      file: await toFile(wav(2), 'speech.wav', { type: 'audio/wav' }),
    })
    expectBilledExactly(await f.ledger('stt-tokens'), 14, 45)
  })

  it('translation (never any usage): the seconds read from the audio', async () => {
    const client = await f.client('translate')
    const answer = await client.audio.translations.create({
      model: 'whisper-1',
      file: await toFile(wav(3.2), 'rede.wav', { type: 'audio/wav' }),
    })
    expect(answer.text).toBe(FAKE_TRANSCRIPT)
    expectBilledExactly(await f.ledger('translate'), 4, 0)
  })
})

describe('moderations', () => {
  it('one request, no tokens', async () => {
    const client = await f.client('mod')
    const answer = await client.moderations.create({ input: 'I want to hurt them.' })
    expect(answer.results[0]?.flagged, JSON.stringify(answer)).toBe(true)
    expect(lastUpstream().path).toBe('/v1/moderations')
    expectBilledExactly(await f.ledger('mod'), 0, 0)
  })
})
