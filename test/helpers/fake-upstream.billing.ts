import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base'

/**
 * The prompt count of an upstream that bills as OpenAI does (the fake's
 * `realisticUsage` mode), written apart from the gateway's estimator so that
 * tests compare two implementations: the real tokenizer over every string of
 * the request, each string on its own, plus the chat framing (3 tokens a
 * message, 3 to prime the reply); images by the tile rule (85 + 170 a tile,
 * gpt-4o-mini 2833 + 5667) with the size from a PNG header, else the most an
 * image can cost; audio 10 tokens a second (a WAV header's byte rate, else
 * 8 kbit/s); a file's text as decoded plus one 765-token page picture.
 */
export function realisticPromptTokens(kind: string, body: Record<string, unknown>): number {
  const model = String(body.model ?? '')
  const count = /^(gpt-4o|gpt-4\.1|gpt-5|o\d)/.test(model) ? countO200k : countCl100k
  const tally = { tokens: 0, count, model }
  for (const [key, value] of Object.entries(body)) {
    if (key === 'model') continue
    if ((key === 'messages' && kind === 'chat') || (key === 'input' && kind === 'responses')) {
      const messages = typeof value === 'string' ? [{ role: 'user', content: value }] : value
      if (!Array.isArray(messages)) continue
      tally.tokens += 3 + 3 * messages.length
      for (const message of messages) strings(tally, message)
    } else if (
      (key === 'prompt' && kind === 'completions') ||
      (key === 'input' && kind === 'embeddings')
    ) {
      const ids = tokenIds(value)
      if (ids === null) strings(tally, value)
      else tally.tokens += ids
    } else {
      strings(tally, value)
    }
  }
  return tally.tokens
}

interface Tally {
  tokens: number
  count: (text: string) => number
  model: string
}

function strings(tally: Tally, value: unknown): void {
  if (typeof value === 'string') tally.tokens += tally.count(value)
  else if (Array.isArray(value)) for (const item of value) strings(tally, item)
  else if (typeof value === 'object' && value !== null) {
    const part = value as Record<string, unknown>
    const payload = media(tally, part)
    for (const [key, field] of Object.entries(part)) {
      if (payload && key === payload) continue
      strings(tally, field)
    }
  }
}

/** Bills a media part; returns the key holding its payload (not text), or null. */
function media(tally: Tally, part: Record<string, unknown>): string | null {
  if (part.type === 'image_url' && isObject(part.image_url)) {
    tally.tokens += image(tally.model, part.image_url.url, part.image_url.detail)
    strings(tally, part.image_url.detail)
    return 'image_url'
  }
  if (part.type === 'input_image') {
    tally.tokens += image(tally.model, part.image_url, part.detail)
    return 'image_url'
  }
  if (part.type === 'input_audio' && isObject(part.input_audio)) {
    const bytes = base64Bytes(part.input_audio.data)
    const byteRate = bytes.toString('latin1', 0, 4) === 'RIFF' ? bytes.readUInt32LE(28) : 1000
    tally.tokens += Math.ceil((10 * bytes.length) / byteRate)
    strings(tally, part.input_audio.format)
    return 'input_audio'
  }
  if (part.type === 'file' && isObject(part.file) && typeof part.file.file_data === 'string') {
    tally.tokens += tally.count(base64Bytes(part.file.file_data).toString('utf8')) + 765
    strings(tally, part.file.filename)
    return 'file'
  }
  if (part.type === 'input_file' && typeof part.file_data === 'string') {
    tally.tokens += tally.count(base64Bytes(part.file_data).toString('utf8')) + 765
    return 'file_data'
  }
  return null
}

function image(model: string, url: unknown, detail: unknown): number {
  const [base, tile] = model.startsWith('gpt-4o-mini') ? [2833, 5667] : [85, 170]
  if (detail === 'low') return base
  const bytes = typeof url === 'string' && url.startsWith('data:') ? base64Bytes(url) : null
  if (!bytes || bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR')
    return base + 8 * tile
  let [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)]
  const fit = Math.min(1, 2048 / Math.max(w, h))
  ;[w, h] = [Math.floor(w * fit), Math.floor(h * fit)]
  const shrink = Math.min(1, 768 / Math.min(w, h))
  ;[w, h] = [Math.floor(w * shrink), Math.floor(h * shrink)]
  return base + tile * Math.ceil(w / 512) * Math.ceil(h / 512)
}

function base64Bytes(value: unknown): Buffer {
  const text = String(value ?? '')
  return Buffer.from(text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text, 'base64')
}

function tokenIds(value: unknown): number | null {
  if (!Array.isArray(value) || value.length === 0) return null
  if (value.every((v) => typeof v === 'number')) return value.length
  if (value.every((v) => Array.isArray(v) && v.every((n) => typeof n === 'number')))
    return value.reduce((sum, v) => sum + (v as number[]).length, 0)
  return null
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
