import type { ImageSize } from './image-tokens.ts'

/**
 * The pixel size of a base64 data URL image, read the way decoders read it,
 * without decoding the image: PNG (IHDR), GIF (the logical screen and every
 * frame's image descriptor), WebP (VP8, VP8L, VP8X) and JPEG (every frame
 * header before the first scan). null when the URL is not base64 data, the
 * format is unknown, or anything is inconsistent (a zero side, a GIF frame off
 * its screen, two JPEG frame sizes, data that ends before the walk does): the
 * caller then bills the most the image can cost. A size a header claims but a
 * decoder would not use must never make an image cheaper.
 */
export function dataUrlImageSize(url: string): ImageSize | null {
  if (!url.startsWith('data:')) return null
  const comma = url.indexOf(',')
  if (comma === -1 || !url.slice(0, comma).endsWith(';base64')) return null
  // JPEG's frame header can sit after EXIF and ICC segments, and a GIF's frames run to its
  // trailer: 96 KB of base64 (72 KB decoded) covers what cameras write and small GIFs; a
  // walk that needs more falls back to the most the image can cost.
  const head = Buffer.from(url.slice(comma + 1, comma + 1 + 96 * 1024), 'base64')
  const size = readerFor(head)?.(head) ?? null
  return size !== null && size.width > 0 && size.height > 0 ? size : null
}

/** Blocks, sub-blocks and markers walked at most: past it the image costs the most. */
const MAX_STEPS = 10_000

function readerFor(b: Buffer): ((b: Buffer) => ImageSize | null) | null {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a)
    return pngSize
  if (b.toString('latin1', 0, 4) === 'GIF8') return gifSize
  if (b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return webpSize
  if (b[0] === 0xff && b[1] === 0xd8) return jpegSize
  return null
}

/** IHDR is the first chunk, 13 bytes long; its size is the image's (APNG frames lie within it). */
function pngSize(b: Buffer): ImageSize | null {
  if (b.length < 24 || b.readUInt32BE(8) !== 13 || b.toString('latin1', 12, 16) !== 'IHDR')
    return null
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) }
}

/**
 * The logical screen, once every frame is seen to lie on it. Decoders disagree
 * on a frame off the screen (browsers clip it, others grow the canvas), so one
 * makes the size unknown; so does a GIF without frames or without its trailer
 * in the bytes read.
 */
function gifSize(b: Buffer): ImageSize | null {
  if (b.length < 13) return null
  const screen = { width: b.readUInt16LE(6), height: b.readUInt16LE(8) }
  let at = 13 + colorTableBytes(b[10]!)
  let frames = 0
  let steps = 0
  while (at < b.length && steps++ < MAX_STEPS) {
    const introducer = b[at]
    if (introducer === 0x3b) return frames > 0 ? screen : null
    if (introducer === 0x21) {
      at += 2 // introducer and label, then the extension's sub-blocks
    } else if (introducer === 0x2c) {
      if (at + 10 > b.length) return null
      const right = b.readUInt16LE(at + 1) + b.readUInt16LE(at + 5)
      const bottom = b.readUInt16LE(at + 3) + b.readUInt16LE(at + 7)
      if (b.readUInt16LE(at + 5) === 0 || b.readUInt16LE(at + 7) === 0) return null
      if (right > screen.width || bottom > screen.height) return null
      frames++
      // The descriptor, its local color table and the LZW code size, then the data sub-blocks.
      at += 10 + colorTableBytes(b[at + 9]!) + 1
    } else return null
    // Sub-blocks: a length byte and that many bytes, until a zero length.
    while (at < b.length && b[at] !== 0 && steps++ < MAX_STEPS) at += 1 + b[at]!
    at++
  }
  return null
}

/** A global or local color table's length, from its block's packed field. */
function colorTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0
}

/**
 * libwebp decodes a simple file at its VP8 or VP8L frame's size, and an
 * extended one at its VP8X canvas (it refuses a still image whose frame
 * differs from the canvas, and animation frames off it).
 */
function webpSize(b: Buffer): ImageSize | null {
  if (b.length < 30) return null
  const chunk = b.toString('latin1', 12, 16)
  if (chunk === 'VP8 ') {
    // A key frame's start code, then 14-bit sides (the top 2 bits are a scaling hint decoders ignore).
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff }
  }
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21)
    if (b[20] !== 0x2f || bits >>> 29 !== 0) return null
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 }
  return null
}

/**
 * Every frame header (SOF0-SOF15 but DHT, JPG and DAC) up to the first scan:
 * they must agree. A height of 0 (set later by a DNL marker), no frame header
 * before the scan, or bytes that end first leave the size unknown.
 */
function jpegSize(b: Buffer): ImageSize | null {
  let size: ImageSize | null = null
  let at = 2
  let steps = 0
  while (at + 4 <= b.length && steps++ < MAX_STEPS) {
    if (b[at] !== 0xff) return null
    const marker = b[at + 1]!
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    if (marker === 0xda) return size // start of scan: the frame is known
    if (marker === 0xd9) return null // end of image before any scan
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2 // TEM and RSTn stand alone, without a length
      continue
    }
    const length = b.readUInt16BE(at + 2)
    if (length < 2) return null
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isSof) {
      if (at + 9 > b.length) return null
      const frame = { width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) }
      if (size !== null && (size.width !== frame.width || size.height !== frame.height)) return null
      size = frame
    }
    at += 2 + length
  }
  return null
}
