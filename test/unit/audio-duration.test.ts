import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { audioSeconds } from '../../src/pipeline/estimate/audio-duration.ts'
import { wav } from '../helpers/media.ts'

/**
 * An uploaded file's seconds are read from its headers, never by walking its frames: a file
 * with an audio signature and noise after it must not read as a second of audio (it is sized
 * from its bytes instead), nor hold the event loop while a parser hunts for frames.
 */
describe('audio seconds', () => {
  it('a signature followed by noise is sized from its bytes, not read as next to nothing', async () => {
    for (const head of [
      Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x00'),
      Buffer.from([0xff, 0xfb, 0x90, 0x00]),
      Buffer.from('OggS'),
    ]) {
      const file = Buffer.concat([head, randomBytes(4 * 1024 * 1024)])
      expect(await audioSeconds(file, 'audio/mpeg')).toBe(Math.ceil(file.length / 2_000))
    }
  })

  it('a real file reads its duration from its header', async () => {
    expect(await audioSeconds(wav(8.4), 'audio/wav')).toBe(9)
  })
})
