/**
 * What OpenAI bills for one input image, by its documented rules ("Calculating
 * costs" in the vision guide). Two schemes exist:
 *
 * - tiles: `detail: low` costs the base; `high` and `auto` scale the image to
 *   fit 2048 x 2048, then (only when larger) so that its shortest side is 768,
 *   and cost base + tile x (512-pixel tiles). 1024 x 1024 -> 768 x 768 -> 4
 *   tiles -> 85 + 4 x 170 = 765; 2048 x 4096 -> 768 x 1536 -> 6 tiles -> 1105.
 * - patches (the mini and nano models of 4.1 and 5, o4-mini): 32-pixel
 *   patches, at most 1536, times a per-model multiplier, whatever the detail.
 *
 * gpt-4o-mini bills an image 33 x the tokens of gpt-4o (2833 + 5667 a tile) so
 * that its price per image matches: usage reports those tokens, so the
 * estimate must too.
 */
export interface ImageSize {
  width: number
  height: number
}

type Scheme =
  | { kind: 'tiles'; base: number; tile: number }
  | { kind: 'patches'; multiplier: number }

/** Longest prefix first: the first match wins. Models not listed cost what gpt-4o does. */
const SCHEMES: ReadonlyArray<[string, Scheme]> = [
  ['gpt-4.1-mini', { kind: 'patches', multiplier: 1.62 }],
  ['gpt-4.1-nano', { kind: 'patches', multiplier: 2.46 }],
  ['gpt-5-mini', { kind: 'patches', multiplier: 1.62 }],
  ['gpt-5-nano', { kind: 'patches', multiplier: 2.46 }],
  ['o4-mini', { kind: 'patches', multiplier: 1.72 }],
  ['gpt-4o-mini', { kind: 'tiles', base: 2833, tile: 5667 }],
  ['computer-use-preview', { kind: 'tiles', base: 65, tile: 129 }],
  ['gpt-5', { kind: 'tiles', base: 70, tile: 140 }],
  ['o1', { kind: 'tiles', base: 75, tile: 150 }],
  ['o3', { kind: 'tiles', base: 75, tile: 150 }],
]
const DEFAULT_SCHEME: Scheme = { kind: 'tiles', base: 85, tile: 170 }

const MAX_SIDE = 2048
const SHORT_SIDE = 768
const TILE = 512
const PATCH = 32
const MAX_PATCHES = 1536
/** The most tiles any size can give: 768 x 2048 stays as it is and needs 2 x 4 tiles. */
const MAX_TILES = 8

function imageScheme(model: string): Scheme {
  const name = baseModel(model.toLowerCase())
  for (const [prefix, scheme] of SCHEMES) if (name.startsWith(prefix)) return scheme
  return DEFAULT_SCHEME
}

/**
 * The model a name is billed as: a provider prefix (`openai/gpt-4o-mini`) and a
 * fine-tune's wrapping (`ft:gpt-4o-mini-2024-07-18:org::id`) bill their base
 * model's images, so gpt-4o-mini's 33 x must not fall back to gpt-4o's rule.
 */
function baseModel(name: string): string {
  const unprefixed = name.slice(name.lastIndexOf('/') + 1)
  return unprefixed.startsWith('ft:') ? unprefixed.slice(3) : unprefixed
}

/**
 * Tokens of one image of a known size, or of unknown size (`null`: a remote
 * URL, a file id, a header that could not be read): then the most any image
 * can cost at that detail, so the estimate is never below the bill.
 */
export function imageTokens(model: string, size: ImageSize | null, detail: unknown): number {
  const scheme = imageScheme(model)
  if (scheme.kind === 'patches') {
    const patches = size
      ? Math.min(Math.ceil(size.width / PATCH) * Math.ceil(size.height / PATCH), MAX_PATCHES)
      : MAX_PATCHES
    // The documented rule scales an image over the cap down to at most 1536 patches: min() bounds it.
    return Math.ceil(patches * scheme.multiplier)
  }
  if (detail === 'low') return scheme.base
  return scheme.base + scheme.tile * (size ? tileCount(size) : MAX_TILES)
}

/** 512-pixel tiles after fitting 2048 x 2048, then shrinking the shortest side to 768. */
export function tileCount({ width, height }: ImageSize): number {
  if (!(width > 0 && height > 0)) return MAX_TILES
  let w = width
  let h = height
  const fit = Math.min(1, MAX_SIDE / Math.max(w, h))
  w *= fit
  h *= fit
  const shrink = Math.min(1, SHORT_SIDE / Math.min(w, h))
  w *= shrink
  h *= shrink
  // Scaled sizes stay fractional: rounding up never gives fewer tiles than the upstream counts.
  return Math.ceil(w / TILE) * Math.ceil(h / TILE)
}
