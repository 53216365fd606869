import type { HttpBindings } from '@hono/node-server'
import type { Context, Hono } from 'hono'

/**
 * The fake upstream's media endpoints, answering as OpenAI does (shapes from
 * the API reference's examples): images (GPT image models report token usage,
 * DALL·E none), speech (raw audio, or SSE with usage for stream_format "sse"),
 * transcriptions (whisper-1: usage in seconds; the gpt-4o transcribe models:
 * tokens; text formats and translations: none) and moderations.
 * Kept apart from fake-upstream.ts, which registers these routes, so that file
 * stays about text; the behaviour fields it reads are fake-upstream's Behavior's.
 */
export interface MediaBehavior {
  status?: number
  latencyMs?: number
  omitUsage?: boolean
  /** Images and token transcriptions: input and output tokens reported. */
  usage?: { input: number; output: number }
  /** Whisper: the seconds usage reports. */
  seconds?: number
  /** Speech: the audio is sent in `chunks` pieces of `audioBytesPerChunk`, `chunkDelayMs` apart. */
  chunks?: number
  audioBytesPerChunk?: number
  chunkDelayMs?: number
  /** Speech: stop sending (without closing) after this many pieces. */
  hangAfterChunks?: number
}

type App = Hono<{ Bindings: HttpBindings }>
type Ctx = Context<{ Bindings: HttpBindings }>

export const FAKE_TRANSCRIPT = 'The beach was a popular spot on a hot summer day.'
const TINY_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='

export function addMediaRoutes(app: App, next: () => MediaBehavior, closed: Promise<void>) {
  const headers = { 'openai-organization': 'org-secret', 'x-request-id': 'req_upstream' }
  const refused = (c: Ctx, behavior: MediaBehavior) =>
    c.json(
      {
        error: {
          message: 'fake upstream refused',
          type: 'invalid_request_error',
          code: 'fake',
          param: null,
        },
      },
      behavior.status as 400,
      headers,
    )

  const images = async (c: Ctx) => {
    const behavior = next()
    if (behavior.latencyMs) await sleep(behavior.latencyMs)
    if (behavior.status && behavior.status >= 400) return refused(c, behavior)
    const fields = await fieldsOf(c)
    const model = String(
      fields.model ?? (c.req.path.endsWith('edits') ? 'gpt-image-1.5' : 'dall-e-2'),
    )
    const n = Number(fields.n ?? 1)
    const data = Array.from({ length: n }, () =>
      fields.response_format === 'url'
        ? { url: 'https://files.example/img.png' }
        : { b64_json: TINY_PNG_B64 },
    )
    if (model.startsWith('dall-e')) return c.json({ created: 1_713_833_628, data }, 200, headers)
    const input = behavior.usage?.input ?? 50
    const output = behavior.usage?.output ?? 4_160
    const usage = {
      total_tokens: input + output,
      input_tokens: input,
      output_tokens: output,
      input_tokens_details: { text_tokens: 10, image_tokens: input - 10 },
    }
    return c.json(
      {
        created: 1_713_833_628,
        data,
        size: fields.size ?? '1024x1024',
        quality: fields.quality ?? 'high',
        ...(behavior.omitUsage ? {} : { usage }),
      },
      200,
      headers,
    )
  }

  app.post('/v1/images/generations', images)
  app.post('/v1/images/edits', images)

  app.post('/v1/audio/speech', async (c) => {
    const behavior = next()
    if (behavior.latencyMs) await sleep(behavior.latencyMs)
    if (behavior.status && behavior.status >= 400) return refused(c, behavior)
    const fields = await fieldsOf(c)
    if (fields.stream_format === 'sse') {
      const usage = {
        input_tokens: behavior.usage?.input ?? 14,
        output_tokens: behavior.usage?.output ?? 101,
      }
      const text =
        `data: ${JSON.stringify({ type: 'speech.audio.delta', audio: 'AAAA' })}\n\n` +
        `data: ${JSON.stringify({ type: 'speech.audio.done', usage: { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } })}\n\n`
      return c.body(text, 200, { ...headers, 'content-type': 'text/event-stream' })
    }
    const chunks = behavior.chunks ?? 1
    const size = behavior.audioBytesPerChunk ?? 1024
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= chunks) return controller.close()
        if (behavior.hangAfterChunks !== undefined && sent >= behavior.hangAfterChunks) await closed
        if (behavior.chunkDelayMs && sent > 0) await sleep(behavior.chunkDelayMs)
        sent++
        controller.enqueue(new Uint8Array(size).fill(0xff))
      },
    })
    return c.body(stream, 200, { ...headers, 'content-type': 'audio/mpeg' })
  })

  const transcribe = (translate: boolean) => async (c: Ctx) => {
    const behavior = next()
    if (behavior.latencyMs) await sleep(behavior.latencyMs)
    if (behavior.status && behavior.status >= 400) return refused(c, behavior)
    const fields = await fieldsOf(c)
    if (!(fields.file instanceof File)) return refused(c, { status: 400 })
    const format = fields.response_format ?? 'json'
    if (format === 'text') return c.text(FAKE_TRANSCRIPT, 200, headers)
    if (translate) return c.json({ text: FAKE_TRANSCRIPT }, 200, headers)
    const usage = String(fields.model).startsWith('whisper')
      ? { type: 'duration', seconds: behavior.seconds ?? 9 }
      : {
          type: 'tokens',
          input_tokens: behavior.usage?.input ?? 14,
          input_token_details: { text_tokens: 0, audio_tokens: behavior.usage?.input ?? 14 },
          output_tokens: behavior.usage?.output ?? 45,
          total_tokens: (behavior.usage?.input ?? 14) + (behavior.usage?.output ?? 45),
        }
    return c.json({ text: FAKE_TRANSCRIPT, ...(behavior.omitUsage ? {} : { usage }) }, 200, headers)
  }
  app.post('/v1/audio/transcriptions', transcribe(false))
  app.post('/v1/audio/translations', transcribe(true))

  app.post('/v1/moderations', async (c) => {
    const behavior = next()
    if (behavior.status && behavior.status >= 400) return refused(c, behavior)
    const fields = await fieldsOf(c)
    return c.json(
      {
        id: 'modr-0d9740456c391e43c445bf0f010940c7',
        model: fields.model ?? 'omni-moderation-latest',
        results: [
          {
            flagged: true,
            categories: { harassment: true, violence: true },
            category_scores: { harassment: 0.8189693396524255, violence: 0.9999992735124786 },
            category_applied_input_types: { harassment: ['text'], violence: ['text', 'image'] },
          },
        ],
      },
      200,
      headers,
    )
  })
}

/** The body's fields: a JSON object, or a multipart form's fields and files. */
async function fieldsOf(c: Ctx): Promise<Record<string, unknown>> {
  const record = c.get('record' as never) as {
    rawBytes: Buffer
    body: Record<string, unknown> | null
  }
  const type = c.req.header('content-type') ?? ''
  if (!type.startsWith('multipart/form-data')) return record.body ?? {}
  const form = await new Response(record.rawBytes, { headers: { 'content-type': type } }).formData()
  const fields: Record<string, unknown> = {}
  for (const [key, value] of form) fields[key] = value
  return fields
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
