import { anthropicMediaCost } from '../anthropic/media.ts'
import { dataUrlImageSize } from './image-size.ts'
import { imageTokens } from './image-tokens.ts'

/**
 * Input parts the upstream does not bill as text: images, audio, files. Each
 * is billed by what it is, never by its base64 as text, and where its size
 * cannot be known, by the most it can cost (or, for a file only the upstream
 * can see, as an unknown context).
 */
export interface MediaCost {
  tokens: number
  /** The parameter that refers to content the gateway cannot see (a file id or URL). */
  unknown: string | null
}

/*
 * Audio is billed about 10 tokens a second (600 a minute, the published
 * per-minute price at the per-token price). The lowest bitrate a wav or mp3
 * part can have is about 8 kbit/s (1,000 bytes a second), so 100 decoded bytes
 * a token never counts fewer seconds than the file holds.
 */
const AUDIO_BYTES_PER_TOKEN = 100

/** Keys whose string value is a part's payload, billed by the rules here and never as text. */
export const PAYLOAD_KEYS: ReadonlySet<string> = new Set(['url', 'image_url', 'data', 'file_data'])

/** The cost of a content part when it is an image, audio or file part; else null (a text part). */
export function mediaCost(model: string, part: Record<string, unknown>): MediaCost | null {
  const type = part.type
  if (type === 'image_url' || type === 'input_image') {
    const inner = isObject(part.image_url) ? part.image_url : part
    const url = typeof inner.url === 'string' ? inner.url : part.image_url
    const size = typeof url === 'string' ? dataUrlImageSize(url) : null
    return { tokens: imageTokens(model, size, inner.detail ?? part.detail), unknown: null }
  }
  if (type === 'input_audio' && isObject(part.input_audio)) {
    const bytes = decodedBytes(part.input_audio.data)
    return { tokens: Math.ceil(bytes / AUDIO_BYTES_PER_TOKEN), unknown: null }
  }
  if (type === 'file' || type === 'input_file') {
    const file = isObject(part.file) ? part.file : part
    if (typeof file.file_data === 'string')
      return { tokens: fileTokens(model, file.file_data), unknown: null }
    const unknown =
      typeof file.file_id === 'string'
        ? 'file_id'
        : typeof file.file_url === 'string'
          ? 'file_url'
          : null
    return { tokens: 0, unknown }
  }
  if (type === 'image' || type === 'document') return anthropicMediaCost(part)
  return null
}

/**
 * A file (a PDF, usually) is billed as its extracted text plus an image of each
 * page. A token covers at least one byte of text, so the decoded size bounds
 * the text, and one image at the model's most adds the first page's picture.
 * Pages under about 1 KB each (or text compressed inside the PDF) can cost more
 * than this bound: docs/estimation.md says so.
 */
function fileTokens(model: string, data: string): number {
  return decodedBytes(data) + imageTokens(model, null, 'high')
}

/** Decoded size of base64 data, or of a base64 data URL's payload, without decoding it. */
function decodedBytes(value: unknown): number {
  if (typeof value !== 'string') return 0
  const comma = value.startsWith('data:') ? value.indexOf(',') + 1 : 0
  const length = value.length - comma
  let padding = 0
  if (value.endsWith('==')) padding = 2
  else if (value.endsWith('=')) padding = 1
  return Math.max(0, Math.floor((length * 3) / 4) - padding)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
