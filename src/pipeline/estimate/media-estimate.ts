import type { MediaRequest, MediaRoute } from '../media/media-request.ts'
import { countField, invalid } from '../media/media-request.ts'
import {
  AUDIO_TOKENS_PER_SECOND,
  audioSeconds,
  TRANSCRIPT_TOKENS_PER_SECOND,
} from './audio-duration.ts'
import { INPUT_IMAGE_RESERVE, imageUnits } from './image-units.ts'

/**
 * A media request in the quota's raw units, before weights (docs/weights.md,
 * "Media"): what to reserve, and what the answer is billed when it reports
 * nothing itself (`fallback`; null: the reservation, as for a text answer
 * without usage).
 */
export interface MediaEstimate {
  input: number
  output: number
  /** The audio's seconds, measured (transcriptions and translations). */
  seconds: number | null
}

/** OpenAI's own bound on images per request. */
const MAX_IMAGES = 10

/** Counts a text's tokens as the request's model does: off the event loop where the text is long. */
export type CountTokens = (text: string) => Promise<number>

/**
 * Estimates a media request; throws the 400 of a body the upstream would refuse
 * anyway. A body parsed in the counting worker was estimated there
 * (token-worker.ts): its estimate, or the 400 it would throw, comes with it.
 */
export async function estimateMedia(
  route: MediaRoute,
  request: MediaRequest,
  countTokens: CountTokens,
): Promise<MediaEstimate> {
  if (request.estimated) {
    const { estimate, refusal } = request.estimated
    if (refusal) throw invalid(refusal.message, refusal.param ?? undefined)
    return estimate!
  }
  const { fields, model } = request
  switch (route.endpoint) {
    case 'images_generations':
    case 'images_edits': {
      const prompt = requiredText(fields, 'prompt')
      const n = countField(fields, 'n', 1, MAX_IMAGES)
      const output = n * imageUnits(model, fields.size, fields.quality)
      // DALL·E bills the image only; GPT image models bill the prompt and input images as tokens.
      if (isDallE(model)) return { input: 0, output, seconds: null }
      const images = request.files.filter((f) => f.field.startsWith('image')).length
      const referenced = Array.isArray(fields.images) ? fields.images.length : 0
      const input = (await countTokens(prompt)) + (images + referenced) * INPUT_IMAGE_RESERVE
      return { input, output, seconds: null }
    }
    case 'audio_speech':
      return { input: characters(requiredText(fields, 'input')), output: 0, seconds: null }
    case 'audio_transcriptions':
    case 'audio_translations': {
      const file = request.files.find((f) => f.field === 'file')
      if (!file) throw invalid('file is required: the audio to transcribe', 'file')
      const seconds = await audioSeconds(file.bytes, file.type)
      if (!isTokenBilledTranscription(model)) return { input: seconds, output: 0, seconds }
      const prompt = typeof fields.prompt === 'string' ? await countTokens(fields.prompt) : 0
      return {
        input: seconds * AUDIO_TOKENS_PER_SECOND + prompt,
        output: seconds * TRANSCRIPT_TOKENS_PER_SECOND,
        seconds,
      }
    }
    case 'moderations':
      if (fields.input === undefined || fields.input === null) {
        throw invalid('input is required', 'input')
      }
      return { input: 0, output: 0, seconds: null }
  }
}

/** Speech is billed per character of `input`: Unicode characters, not UTF-16 units. */
export function characters(text: string): number {
  let count = 0
  for (const _ of text) count++
  return count
}

export function isDallE(model: string): boolean {
  return model.toLowerCase().startsWith('dall-e')
}

/** gpt-4o-transcribe, gpt-4o-mini-transcribe, gpt-transcribe...: billed by tokens, not seconds. */
export function isTokenBilledTranscription(model: string): boolean {
  const name = model.toLowerCase()
  return name.includes('transcribe') && !name.startsWith('whisper')
}

function requiredText(fields: Record<string, unknown>, name: string): string {
  const value = fields[name]
  if (typeof value !== 'string' || value === '') throw invalid(`${name} is required`, name)
  return value
}
