import type { ImageSize } from './image-tokens.ts'

/**
 * The pixel size of a base64 data URL image, read from its header without
 * decoding the whole image: PNG (IHDR), GIF (logical screen), WebP (VP8, VP8L,
 * VP8X) and JPEG (the first SOF marker). null when the URL is not base64 data
 * or the header cannot be read: the caller then bills the most the image can cost.
 */
export function dataUrlImageSize(url: string): ImageSize | null {
  if (!url.startsWith('data:')) return null
  const comma = url.indexOf(',')
  if (comma === -1 || !url.slice(0, comma).endsWith(';base64')) return null
  // JPEG's SOF can sit after EXIF and ICC segments: 96 KB of base64 (72 KB decoded) covers
  // what cameras write; a header further in falls back to the most the image can cost.
  const head = Buffer.from(url.slice(comma + 1, comma + 1 + 96 * 1024), 'base64')
  return pngSize(head) ?? gifSize(head) ?? webpSize(head) ?? jpegSize(head)
}

function pngSize(b: Buffer): ImageSize | null {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR')
    return null
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) }
}

function gifSize(b: Buffer): ImageSize | null {
  if (b.length < 10 || b.toString('latin1', 0, 4) !== 'GIF8') return null
  return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) }
}

function webpSize(b: Buffer): ImageSize | null {
  if (
    b.length < 30 ||
    b.toString('latin1', 0, 4) !== 'RIFF' ||
    b.toString('latin1', 8, 12) !== 'WEBP'
  )
    return null
  const chunk = b.toString('latin1', 12, 16)
  if (chunk === 'VP8 ')
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff }
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 }
  return null
}

/** Walks the JPEG segments to the first start-of-frame (SOF0-SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Buffer): ImageSize | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null
  let at = 2
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return null
    const marker = b[at + 1]!
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isSof) return { width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) }
    at += 2 + b.readUInt16BE(at + 2)
  }
  return null
}
