import { imageUnits } from '../estimate/image-units.ts'
import {
  isDallE,
  isTokenBilledTranscription,
  type MediaEstimate,
} from '../estimate/media-estimate.ts'
import type { MediaRequest, MediaRoute } from '../media/media-request.ts'
import { type RawUsage, readUsage } from './usage.ts'

/**
 * What a media answer is billed, in the quota's raw units (docs/weights.md,
 * "Media"): the upstream's own usage when it reports one (GPT image models,
 * token-billed transcription, whisper's seconds), else what the request
 * itself fixes (DALL·E images by count, size and quality; speech by
 * characters; transcriptions by the audio's measured seconds; moderations
 * nothing but the request). Null: nothing to go by, the estimate is billed.
 * The upstream's numbers are checked by validUsage before they are credited.
 */
export function mediaUsage(
  route: MediaRoute,
  request: MediaRequest,
  estimate: MediaEstimate,
  answer: Buffer | null,
): RawUsage | null {
  const json = answer ? parseObject(answer) : null
  switch (route.endpoint) {
    case 'images_generations':
    case 'images_edits': {
      const usage = objectAt(json, 'usage')
      // Read as any token usage, so its image tokens are kept and priced as a class (docs/weights.md).
      if (usage && 'input_tokens' in usage && !isDallE(request.model)) return readUsage(usage)
      const data = json?.data
      if (!Array.isArray(data)) return null
      const size = json?.size ?? request.fields.size
      const quality = json?.quality ?? request.fields.quality
      return {
        input: isDallE(request.model) ? 0 : estimate.input,
        output: data.length * imageUnits(request.model, size, quality),
      }
    }
    case 'audio_speech':
      return { input: estimate.input, output: 0 }
    case 'audio_transcriptions':
    case 'audio_translations': {
      const usage = objectAt(json, 'usage')
      // Its audio input tokens (input_token_details) are a class with a price of its own.
      if (usage?.type === 'tokens') return readUsage(usage)
      if (usage?.type === 'duration' && typeof usage.seconds === 'number') {
        return { input: Math.ceil(usage.seconds), output: 0 }
      }
      if (isTokenBilledTranscription(request.model)) return null
      return { input: estimate.seconds ?? estimate.input, output: 0 }
    }
    case 'moderations':
      return { input: 0, output: 0 }
  }
}

function parseObject(bytes: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    // text, srt and vtt transcriptions are plain text: no usage in them.
    return null
  }
}

function objectAt(json: Record<string, unknown> | null, key: string) {
  const value = json?.[key]
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null
}
