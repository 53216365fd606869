import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAKE_TRANSCRIPT } from '../helpers/fake-upstream.media.ts'
import { png, wav } from '../helpers/media.ts'
import { startMediaFixture } from '../helpers/media-fixture.ts'
import { expectBilledExactly, type ProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * The requests Open WebUI sends with its OpenAI engines (backend routers
 * audio and images): TTS as JSON {input, voice, model} read whole as mp3; STT
 * as multipart with `model`, `language` and a `<uuid>.<ext>` file, retried
 * once without `language` on a non-200; image generation as JSON with
 * response_format b64_json; image edits as multipart with `image`.
 */
let f: ProxyFixture
beforeAll(async () => {
  f = await startMediaFixture()
})
afterAll(async () => {
  await f?.close()
})

describe('Open WebUI', () => {
  it('TTS (AUDIO_TTS_MODEL tts-1, voice alloy): mp3 back, billed its characters', async () => {
    const input = 'Hello from Open WebUI.'
    const res = await f.fetch('owui-tts', '/v1/audio/speech', {
      method: 'POST',
      json: { input, voice: 'alloy', model: 'tts-1' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('audio/mpeg')
    expect((await res.arrayBuffer()).byteLength).toBe(1024)
    expect(res.headers.get('openai-organization')).toBeNull()
    expectBilledExactly(await f.ledger('owui-tts'), input.length, 0)
  })

  it('STT (multipart: model, language, <uuid>.wav): the transcript, billed the seconds reported', async () => {
    f.upstream.once({ seconds: 6 })
    const form = new FormData()
    form.set('model', 'whisper-1')
    form.set('language', 'en')
    form.set('file', new Blob([wav(5.4)], { type: 'audio/wav' }), `${randomUUID()}.wav`)
    const res = await f.fetch('owui-stt', '/v1/audio/transcriptions', {
      method: 'POST',
      body: form,
    })
    const body = (await res.json()) as { text: string }
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.text).toBe(FAKE_TRANSCRIPT)
    expectBilledExactly(await f.ledger('owui-stt'), 6, 0)
  })

  it('STT retried without language after an upstream 400: only the answered call is billed', async () => {
    f.upstream.once({ status: 400 })
    const send = async (language: string | null) => {
      const form = new FormData()
      form.set('model', 'whisper-1')
      if (language) form.set('language', language)
      form.set('file', new Blob([wav(2.5)], { type: 'audio/wav' }), `${randomUUID()}.wav`)
      return f.fetch('owui-stt-retry', '/v1/audio/transcriptions', { method: 'POST', body: form })
    }
    expect((await send('xx')).status).toBe(400)
    f.upstream.once({ omitUsage: true })
    expect((await send(null)).status).toBe(200)
    // No usage in the answer: the 2.5 s read from the audio, rounded up.
    expectBilledExactly(await f.ledger('owui-stt-retry'), 3, 0)
  })

  it('image generation (dall-e-2, IMAGE_SIZE 512x512, b64_json): 450 units an image', async () => {
    const res = await f.fetch('owui-img', '/v1/images/generations', {
      method: 'POST',
      json: {
        model: 'dall-e-2',
        prompt: 'a cat',
        n: 1,
        size: '512x512',
        response_format: 'b64_json',
      },
    })
    const body = (await res.json()) as { data: Array<{ b64_json: string }> }
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.data[0]?.b64_json).toBeTruthy()
    expectBilledExactly(await f.ledger('owui-img'), 0, 450)
  })

  it('image edit (multipart, gpt-image-1, field image): the tokens reported', async () => {
    f.upstream.once({ usage: { input: 700, output: 1_568 } })
    const form = new FormData()
    form.set('model', 'gpt-image-1')
    form.set('prompt', 'make it night')
    form.set('n', '1')
    form.set('size', '1536x1024')
    form.set('image', new Blob([png(64, 64, 100)], { type: 'image/png' }), `${randomUUID()}.png`)
    const res = await f.fetch('owui-edit', '/v1/images/edits', { method: 'POST', body: form })
    expect(res.status, await res.clone().text()).toBe(200)
    expectBilledExactly(await f.ledger('owui-edit'), 700, 1_568)
  })

  it('a multipart body (requests.post(files=..., data=...)) reaches the upstream byte for byte', async () => {
    const boundary = 'a1b2c3d4e5f6'
    const audio = wav(1.2)
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${randomUUID()}.wav"\r\n` +
          'Content-Type: audio/wav\r\n\r\n',
      ),
      audio,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    f.upstream.once({ omitUsage: true })
    const res = await f.fetch('owui-bytes', '/v1/audio/transcriptions', {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    })
    expect(res.status, await res.clone().text()).toBe(200)
    const sent = f.upstream.requests.at(-1)!
    expect(sent.headers['content-type']).toBe(`multipart/form-data; boundary=${boundary}`)
    expect(sent.rawBytes.equals(body)).toBe(true)
    expectBilledExactly(await f.ledger('owui-bytes'), 2, 0)
  })
})
