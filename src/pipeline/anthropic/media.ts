import { dataUrlImageSize } from '../estimate/image-size.ts'

/*
 * Anthropic's image and document blocks, priced by their own rules
 * (docs/estimation.md, "Anthropic Messages"): an image costs about
 * width x height / 750 tokens, and is resized so that it never costs more than
 * MAX_IMAGE_TOKENS (1,568 before Claude 4.7, 4,784 since: the larger bound is
 * used for every model, an estimate must not fall short). A PDF costs its text
 * and an image per page: the decoded size bounds the text, one image at the
 * most is added, as for OpenAI's files (media-tokens.ts).
 */
const MAX_IMAGE_TOKENS = 4_784
const PIXELS_PER_TOKEN = 750
/** The image header is read from this much base64 at most (image-size.ts reads 96 KB). */
const HEAD_CHARS = 96 * 1024

export interface AnthropicMediaCost {
  tokens: number
  unknown: string | null
}

/**
 * The cost of an Anthropic `image` or `document` block; null for anything
 * else, and for a document whose source is text or content blocks (their
 * strings are counted as text by the estimate's walk).
 */
export function anthropicMediaCost(part: Record<string, unknown>): AnthropicMediaCost | null {
  const source = part.source
  if ((part.type !== 'image' && part.type !== 'document') || !isObject(source)) return null
  const data = typeof source.data === 'string' ? source.data : null
  if (part.type === 'image') {
    if (source.type === 'base64' && data !== null)
      return { tokens: imageTokens(data), unknown: null }
    return { tokens: MAX_IMAGE_TOKENS, unknown: source.type === 'file' ? 'file_id' : null }
  }
  if (source.type === 'base64' && data !== null)
    return { tokens: decodedBytes(data) + MAX_IMAGE_TOKENS, unknown: null }
  if (source.type === 'url') return { tokens: 0, unknown: 'url' }
  if (source.type === 'file') return { tokens: 0, unknown: 'file_id' }
  return null
}

function imageTokens(base64: string): number {
  const size = dataUrlImageSize(`data:image;base64,${base64.slice(0, HEAD_CHARS)}`)
  if (size === null) return MAX_IMAGE_TOKENS
  return Math.min(MAX_IMAGE_TOKENS, Math.ceil((size.width * size.height) / PIXELS_PER_TOKEN))
}

function decodedBytes(base64: string): number {
  let padding = 0
  if (base64.endsWith('==')) padding = 2
  else if (base64.endsWith('=')) padding = 1
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
