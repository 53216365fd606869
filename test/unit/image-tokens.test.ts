import { describe, expect, it } from 'vitest'
import { estimateInputTokens } from '../../src/pipeline/estimate/estimate.ts'
import { dataUrlImageSize } from '../../src/pipeline/estimate/image-size.ts'
import { imageTokens, tileCount } from '../../src/pipeline/estimate/image-tokens.ts'
import { dataUrl, gif, jpeg, png } from '../helpers/media.ts'

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

  it('bills a provider-prefixed or fine-tuned name by its base model', () => {
    const mini = imageTokens('gpt-4o-mini', null, 'high')
    expect(imageTokens('openai/gpt-4o-mini', null, 'high')).toBe(mini)
    expect(imageTokens('ft:gpt-4o-mini-2024-07-18:acme::abc', null, 'high')).toBe(mini)
    expect(imageTokens('azure/openai/o4-mini', null, 'low')).toBe(Math.ceil(1536 * 1.72))
  })

  it('reads the size from PNG, GIF, WebP and JPEG data URLs, and gives up on anything else', () => {
    expect(dataUrlImageSize(dataUrl('image/png', png(1024, 768)))).toEqual({
      width: 1024,
      height: 768,
    })
    const screen = { width: 800, height: 600 }
    expect(dataUrlImageSize(dataUrl('image/gif', gif(screen, [screen])))).toEqual(screen)
    expect(dataUrlImageSize(dataUrl('image/jpeg', jpeg(screen)))).toEqual(screen)
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

/** Sizes are read the way decoders read them; anything inconsistent costs the most. */
describe('image sizes no header can shrink', () => {
  const size = (mime: string, bytes: Buffer) => dataUrlImageSize(dataUrl(mime, bytes))

  it('a GIF is as large as its frames: a 1 x 1 or 0 x 0 screen over a 2048 x 1536 frame costs the most', () => {
    const frame = { width: 2048, height: 1536 }
    expect(size('image/gif', gif({ width: 1, height: 1 }, [frame]))).toBeNull()
    expect(size('image/gif', gif({ width: 0, height: 0 }, [frame]))).toBeNull()
    // gpt-4o: the most an image costs (1445), not a 1 x 1 tile (255); o4-mini: 1536 patches, not 0.
    const part = (bytes: Buffer) => ({
      messages: [
        {
          role: 'user',
          content: [{ type: 'image_url', image_url: { url: dataUrl('image/gif', bytes) } }],
        },
      ],
    })
    const tiny = gif({ width: 1, height: 1 }, [frame])
    const empty = gif({ width: 0, height: 0 }, [frame])
    const framing = estimateInputTokens('chat', 'gpt-4o', part(png(1, 1))) - 255
    expect(estimateInputTokens('chat', 'gpt-4o', part(tiny)) - framing).toBe(1445)
    expect(estimateInputTokens('chat', 'o4-mini', part(empty))).toBeGreaterThanOrEqual(
      Math.ceil(1536 * 1.72),
    )
  })

  it('a GIF whose every frame lies on its screen has the screen size; a frame off it, or no trailer, costs the most', () => {
    const screen = { width: 800, height: 600 }
    expect(size('image/gif', gif(screen, [{ width: 800, height: 600 }]))).toEqual(screen)
    expect(
      size(
        'image/gif',
        gif(screen, [
          { width: 400, height: 300 },
          { left: 400, top: 300, width: 400, height: 300 },
        ]),
      ),
    ).toEqual(screen)
    expect(
      size(
        'image/gif',
        gif(screen, [
          { width: 400, height: 300 },
          { left: 401, top: 0, width: 400, height: 300 },
        ]),
      ),
    ).toBeNull()
    expect(size('image/gif', gif(screen, [{ width: 0, height: 600 }]))).toBeNull()
    expect(
      size('image/gif', gif(screen, [{ width: 800, height: 600 }], { trailer: false })),
    ).toBeNull()
    expect(size('image/gif', gif(screen, []))).toBeNull()
  })

  it('PNG, JPEG and WebP: a zero size, two frame sizes or a broken header cost the most', () => {
    expect(size('image/png', png(0, 0))).toBeNull()
    expect(size('image/png', png(1024, 0))).toBeNull()
    const badLength = png(1024, 768)
    badLength.writeUInt32BE(12, 8)
    expect(size('image/png', badLength)).toBeNull()
    expect(size('image/jpeg', jpeg({ width: 800, height: 600 }))).toEqual({
      width: 800,
      height: 600,
    })
    expect(
      size('image/jpeg', jpeg({ width: 1, height: 1 }, { width: 2048, height: 1536 })),
    ).toBeNull()
    expect(size('image/jpeg', jpeg({ width: 800, height: 0 }))).toBeNull()
    expect(size('image/jpeg', jpeg())).toBeNull()
    const vp8 = Buffer.alloc(30)
    vp8.write('RIFF', 0, 'latin1')
    vp8.write('WEBPVP8 ', 8, 'latin1')
    vp8.writeUInt16LE(1, 26)
    vp8.writeUInt16LE(1, 28)
    expect(size('image/webp', vp8)).toBeNull() // no VP8 start code: not a frame a decoder reads
    Buffer.from([0x9d, 0x01, 0x2a]).copy(vp8, 23)
    expect(size('image/webp', vp8)).toEqual({ width: 1, height: 1 })
    vp8.writeUInt16LE(0, 26)
    expect(size('image/webp', vp8)).toBeNull()
  })

  it('walks a bounded number of blocks: a GIF of 20,000 empty extensions costs the most, at once', () => {
    const head = gif({ width: 10, height: 10 }, [], { trailer: false })
    const extensions = Buffer.alloc(20_000 * 3)
    for (let i = 0; i < 20_000; i++) extensions.set([0x21, 0xfe, 0x00], i * 3)
    const bytes = Buffer.concat([
      head,
      extensions,
      gif({ width: 0, height: 0 }, [{ width: 10, height: 10 }]).subarray(13),
    ])
    const url = dataUrl('image/gif', bytes)
    // Linear either way; the bound only catches a walk gone quadratic. The fastest of three
    // rounds: one round met 122 ms once in CI, both test passes sharing two cores.
    let fastest = Number.POSITIVE_INFINITY
    for (let round = 0; round < 3; round++) {
      const start = performance.now()
      expect(dataUrlImageSize(url)).toBeNull()
      fastest = Math.min(fastest, performance.now() - start)
    }
    expect(fastest).toBeLessThan(100)
  })
})
