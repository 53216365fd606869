import { parseBuffer } from 'music-metadata'

/**
 * The seconds of an uploaded audio file, rounded up (OpenAI bills whisper by
 * the second, rounded up: an 8.47 s file reports `seconds: 9`), read from
 * its headers by music-metadata (flac, mp3, mp4/m4a, ogg, wav, webm), never
 * by walking its frames (`duration: false`): a signature followed by noise
 * made the frame walk hold the event loop 100-160 ms for 25 MB and read as
 * 0 or 1 s. A file whose headers give no duration is sized from its bytes at
 * 16 kbit/s, below any speech codec's usual rate, so the estimate errs long,
 * never short.
 */
export async function audioSeconds(bytes: Uint8Array, mimeType: string): Promise<number> {
  if (!looksLikeAudio(bytes)) return Math.ceil(bytes.length / LOWEST_BYTES_PER_SECOND)
  try {
    const { format } = await parseBuffer(
      bytes,
      { mimeType, size: bytes.length },
      { duration: false },
    )
    if (format.duration !== undefined && Number.isFinite(format.duration) && format.duration >= 0) {
      return Math.ceil(format.duration)
    }
  } catch {
    // Not a format it knows, or a truncated file: sized by its bytes below.
  }
  return Math.ceil(bytes.length / LOWEST_BYTES_PER_SECOND)
}

/** 16 kbit/s. */
const LOWEST_BYTES_PER_SECOND = 2_000

/**
 * The signatures of the formats OpenAI takes (wav, flac, ogg, mp3 with an ID3
 * tag or a frame sync, mp4/m4a, webm). Anything else is not handed to the
 * parser: looking for an MPEG frame through 25 MB of noise holds the event
 * loop for tens to hundreds of milliseconds (measured), a signature check none.
 */
function looksLikeAudio(b: Uint8Array): boolean {
  const ascii = (at: number, text: string) =>
    b.length >= at + text.length && [...text].every((ch, i) => b[at + i] === ch.charCodeAt(0))
  return (
    ascii(0, 'RIFF') ||
    ascii(0, 'fLaC') ||
    ascii(0, 'OggS') ||
    ascii(0, 'ID3') ||
    ascii(4, 'ftyp') ||
    (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) ||
    (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)
  )
}

/**
 * The token-billed transcription models (gpt-4o-transcribe and kin) report
 * tokens, not seconds: their reservation assumes 10 audio tokens a second
 * (OpenAI's audio input rate, one token per 100 ms) and 8 transcript tokens a
 * second (fast speech is about 3 words a second); their usage bills the rest.
 */
export const AUDIO_TOKENS_PER_SECOND = 10
export const TRANSCRIPT_TOKENS_PER_SECOND = 8
