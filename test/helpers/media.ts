/** Small media builders for estimate tests: headers real readers accept, padded to any size. */

export function dataUrl(mime: string, bytes: Buffer): string {
  return `data:${mime};base64,${bytes.toString('base64')}`
}

/** A PNG signature and IHDR chunk of the given size, then `padding` bytes of image data. */
export function png(width: number, height: number, padding = 0): Buffer {
  const b = Buffer.alloc(33 + padding, 7)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0)
  b.writeUInt32BE(13, 8)
  b.write('IHDR', 12, 'latin1')
  b.writeUInt32BE(width, 16)
  b.writeUInt32BE(height, 20)
  return b
}

/** A PCM WAV file (16-bit mono) of `seconds` at `rate` samples a second. */
export function wav(seconds: number, rate = 16_000): Buffer {
  const data = Math.round(seconds * rate * 2)
  const b = Buffer.alloc(44 + data, 0)
  b.write('RIFF', 0, 'latin1')
  b.writeUInt32LE(36 + data, 4)
  b.write('WAVEfmt ', 8, 'latin1')
  b.writeUInt32LE(16, 16)
  b.writeUInt16LE(1, 20) // PCM
  b.writeUInt16LE(1, 22) // mono
  b.writeUInt32LE(rate, 24)
  b.writeUInt32LE(rate * 2, 28) // byte rate
  b.writeUInt16LE(2, 32)
  b.writeUInt16LE(16, 34)
  b.write('data', 36, 'latin1')
  b.writeUInt32LE(data, 40)
  return b
}
