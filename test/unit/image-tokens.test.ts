import { describe, expect, it } from 'vitest'
import { estimateInputTokens } from '../../src/pipeline/estimate.ts'
import { dataUrlImageSize } from '../../src/pipeline/image-size.ts'
import { imageTokens, tileCount } from '../../src/pipeline/image-tokens.ts'
import { dataUrl, png } from '../helpers/media.ts'

/** OpenAI's documented examples ("Calculating costs", vision guide) and the headers sizes are read from. */
describe('image tokens', () => {
  it("matches OpenAI's documented examples for gpt-4o", () => {
    expect(imageTokens('gpt-4o', { width: 1024, height: 1024 }, 'high')).toBe(765)
    expect(imageTokens('gpt-4o', { width: 2048, height: 4096 }, 'high')).toBe(1105)
    expect(imageTokens('gpt-4o', { width: 4096, height: 8192 }, 'low')).toBe(85)
    expect(imageTokens('gpt-4o', { width: 1024, height: 1024 }, 'auto')).toBe(765)
    expect(imageTokens('gpt-4o', { width: 1024, height: 1024 }, undefined)).toBe(765)
    // Small images are not scaled up: 512 x 512 is one tile.
    expect(imageTokens('gpt-4o', { width: 512, height: 512 }, 'high')).toBe(255)
  })

  it('an image of unknown size costs the most any image can at that detail', () => {
    // 768 x 2048 is left as it is and needs 2 x 4 tiles: no size gives more.
    expect(tileCount({ width: 768, height: 2048 })).toBe(8)
    expect(imageTokens('gpt-4o', null, 'high')).toBe(85 + 8 * 170)
    expect(imageTokens('gpt-4o', null, 'low')).toBe(85)
    for (const [w, h] of [
      [100, 100],
      [768, 2048],
      [3000, 9000],
      [20_000, 10],
      [2048, 2048],
    ] as const) {
      expect(imageTokens('gpt-4o', { width: w, height: h }, 'high')).toBeLessThanOrEqual(1445)
    }
  })

  it("uses each model family's scheme (gpt-4o-mini bills 33x the tokens, the mini models patches)", () => {
    expect(imageTokens('gpt-4o-mini', { width: 1024, height: 1024 }, 'high')).toBe(2833 + 4 * 5667)
    expect(imageTokens('gpt-4o-mini', null, 'low')).toBe(2833)
    expect(imageTokens('o1', { width: 1024, height: 1024 }, 'high')).toBe(75 + 4 * 150)
    // Patches: 1024 x 1024 is 32 x 32 = 1024 patches, times 1.62 for gpt-4.1-mini.
    expect(imageTokens('gpt-4.1-mini', { width: 1024, height: 1024 }, 'low')).toBe(
      Math.ceil(1024 * 1.62),
    )
    expect(imageTokens('gpt-4.1-nano', { width: 4096, height: 4096 }, 'high')).toBe(
      Math.ceil(1536 * 2.46),
    )
  })

  it('reads the size from PNG, GIF, WebP and JPEG data URLs, and gives up on anything else', () => {
    expect(dataUrlImageSize(dataUrl('image/png', png(1024, 768)))).toEqual({
      width: 1024,
      height: 768,
    })
    const gif = Buffer.from('GIF89a\x20\x03\x58\x02\x00\x00', 'latin1') // 800 x 600
    expect(dataUrlImageSize(dataUrl('image/gif', gif))).toEqual({ width: 800, height: 600 })
    const jpeg = Buffer.from([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0x00,
      0x04,
      0x00,
      0x00, // APP0 of length 4
      0xff,
      0xc0,
      0x00,
      0x11,
      0x08,
      0x02,
      0x58,
      0x03,
      0x20,
      0x03,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]) // SOF0: height 600, width 800
    expect(dataUrlImageSize(dataUrl('image/jpeg', jpeg))).toEqual({ width: 800, height: 600 })
    const webp = Buffer.alloc(30)
    webp.write('RIFF', 0, 'latin1')
    webp.write('WEBPVP8X', 8, 'latin1')
    webp.writeUIntLE(1999, 24, 3)
    webp.writeUIntLE(999, 27, 3)
    expect(dataUrlImageSize(dataUrl('image/webp', webp))).toEqual({ width: 2000, height: 1000 })
    expect(dataUrlImageSize('https://example.com/cat.png')).toBeNull()
    expect(dataUrlImageSize(dataUrl('image/png', Buffer.from('not an image')))).toBeNull()
  })

  it('the estimate bills a data URL image by its header, never its base64 as text', () => {
    const big = Buffer.concat([png(1024, 1024), Buffer.alloc(400_000, 7)])
    const body = (url: string) => ({
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'high' } }] },
      ],
    })
    const known = estimateInputTokens('chat', 'gpt-4o', body(dataUrl('image/png', big)))
    const remote = estimateInputTokens('chat', 'gpt-4o', body('https://example.com/x.png'))
    expect(known - 765).toBeLessThan(20) // framing and the part's type and detail
    expect(remote - known).toBe(1445 - 765)
  })
})
