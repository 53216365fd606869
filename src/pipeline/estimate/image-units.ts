/**
 * What one generated image counts, in "image units": one unit is one output
 * token of gpt-image-1 ($40 per 1M), the unit OpenAI itself bills its GPT
 * image models in. The GPT image models report their tokens in the answer's
 * usage, so this table only sizes their reservation; DALL·E reports nothing,
 * so its images are billed from here, each at the units that cost what
 * OpenAI charges for it (dall-e-3 standard 1024x1024: $0.04 = 1,000 units).
 * docs/weights.md ("Media") has the whole mapping.
 */

/** gpt-image-1's output tokens per image (OpenAI's image generation guide, "Cost and latency"). */
const GPT_IMAGE: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
}

/** DALL·E's price per image in units of $0.00004 (one gpt-image-1 output token). */
const DALL_E_3: Record<string, Record<string, number>> = {
  standard: { '1024x1024': 1000, '1792x1024': 2000, '1024x1792': 2000 },
  hd: { '1024x1024': 2000, '1792x1024': 3000, '1024x1792': 3000 },
}
const DALL_E_2: Record<string, number> = { '256x256': 400, '512x512': 450, '1024x1024': 500 }

const SQUARE = 1024 * 1024

/** The most a column can cost: an unknown or `auto` size reserves its dearest size. */
const most = (column: Record<string, number>) => Math.max(...Object.values(column))

/**
 * Units of one image of this model, size and quality. Unknown or `auto`
 * values take the dearest choice, so a reservation is never below the bill.
 * A free size (gpt-image-2 takes any WxH) scales the square's count by its
 * pixels, rounded up.
 */
export function imageUnits(model: string, size: unknown, quality: unknown): number {
  const name = model.toLowerCase()
  if (name.startsWith('dall-e-2')) {
    return typeof size === 'string' && size in DALL_E_2 ? DALL_E_2[size]! : most(DALL_E_2)
  }
  if (name.startsWith('dall-e-3')) {
    const column = quality === 'standard' ? DALL_E_3.standard! : DALL_E_3.hd!
    return typeof size === 'string' && size in column ? column[size]! : most(column)
  }
  const column =
    typeof quality === 'string' && quality in GPT_IMAGE ? GPT_IMAGE[quality]! : GPT_IMAGE.high!
  if (typeof size !== 'string') return most(column)
  if (size in column) return column[size]!
  const free = /^(\d{2,5})x(\d{2,5})$/.exec(size)
  if (!free) return most(column)
  const pixels = Number(free[1]) * Number(free[2])
  return Math.ceil((column['1024x1024']! * pixels) / SQUARE)
}

/**
 * What an edit reserves for each input image a GPT image model reads
 * (usage.input_tokens_details.image_tokens): high input fidelity of a large
 * image is the dearest case OpenAI lists (about 6,000 tokens); the answer's
 * usage bills the real count.
 */
export const INPUT_IMAGE_RESERVE = 6_500
