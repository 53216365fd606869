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

/** A GIF: its logical screen, then one image descriptor (and a tiny data block) per frame. */
export function gif(
  screen: { width: number; height: number },
  frames: Array<{ left?: number; top?: number; width: number; height: number }>,
  options: { trailer?: boolean } = {},
): Buffer {
  const head = Buffer.alloc(13)
  head.write('GIF89a', 0, 'latin1')
  head.writeUInt16LE(screen.width, 6)
  head.writeUInt16LE(screen.height, 8)
  const parts = [head]
  for (const frame of frames) {
    const descriptor = Buffer.alloc(10)
    descriptor[0] = 0x2c
    descriptor.writeUInt16LE(frame.left ?? 0, 1)
    descriptor.writeUInt16LE(frame.top ?? 0, 3)
    descriptor.writeUInt16LE(frame.width, 5)
    descriptor.writeUInt16LE(frame.height, 7)
    // LZW minimum code size 2, one data sub-block of 2 bytes, the block terminator.
    parts.push(descriptor, Buffer.from([0x02, 0x02, 0x4c, 0x01, 0x00]))
  }
  if (options.trailer !== false) parts.push(Buffer.from([0x3b]))
  return Buffer.concat(parts)
}

/** A JPEG: SOI, an APP0, one SOF0 per size given (height, width), then a scan. */
export function jpeg(...sizes: Array<{ width: number; height: number }>): Buffer {
  const parts = [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00])]
  for (const { width, height } of sizes) {
    const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00])
    sof.writeUInt16BE(height, 5)
    sof.writeUInt16BE(width, 7)
    parts.push(sof)
  }
  parts.push(Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0x34]))
  return Buffer.concat(parts)
}
