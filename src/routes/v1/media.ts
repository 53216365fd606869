import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { proxyMedia } from '../../pipeline/media/media-proxy.ts'

/*
 * The media routes (docs/metering.md, "Media"; docs/weights.md, "Media"): each
 * one request against the plan's features and quota, reserved before it goes
 * upstream and settled from the answer. The defaults are the upstream's own
 * when the body names no model (OpenAI: dall-e-2 for generations, gpt-image-1.5
 * for edits, omni-moderation-latest for moderations).
 */

/** POST /v1/images/generations (JSON): per image by size and quality, or the image tokens reported. */
export const imageGenerations = (c: Context<AppEnv>) =>
  proxyMedia(c, {
    endpoint: 'images_generations',
    path: '/images/generations',
    accepts: 'json',
    defaultModel: 'dall-e-2',
  })

/** POST /v1/images/edits (multipart with image files, or JSON with image references). */
export const imageEdits = (c: Context<AppEnv>) =>
  proxyMedia(c, {
    endpoint: 'images_edits',
    path: '/images/edits',
    accepts: 'either',
    defaultModel: 'gpt-image-1.5',
  })

/** POST /v1/audio/speech (JSON in, audio out): by the characters of `input`. */
export const audioSpeech = (c: Context<AppEnv>) =>
  proxyMedia(c, { endpoint: 'audio_speech', path: '/audio/speech', accepts: 'json' })

/** POST /v1/audio/transcriptions (multipart): by the audio's seconds, or the tokens reported. */
export const audioTranscriptions = (c: Context<AppEnv>) =>
  proxyMedia(c, {
    endpoint: 'audio_transcriptions',
    path: '/audio/transcriptions',
    accepts: 'multipart',
  })

/** POST /v1/audio/translations (multipart, whisper-1): by the audio's seconds. */
export const audioTranslations = (c: Context<AppEnv>) =>
  proxyMedia(c, {
    endpoint: 'audio_translations',
    path: '/audio/translations',
    accepts: 'multipart',
  })

/** POST /v1/moderations (JSON): one request, no tokens. */
export const moderations = (c: Context<AppEnv>) =>
  proxyMedia(c, {
    endpoint: 'moderations',
    path: '/moderations',
    accepts: 'json',
    defaultModel: 'omni-moderation-latest',
  })
