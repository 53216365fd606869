import { createHash, randomInt } from 'node:crypto'

/**
 * The text of a promo code. Payers type codes, so what they type is normalised
 * before it is hashed: case, spaces and dashes do not matter ("spring-26" is
 * "SPRING26"). Generated codes use Crockford's base32 alphabet (no I, L, O, U)
 * in four groups of four: 80 bits, beyond guessing at any rate a server allows.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const MIN_CODE_LENGTH = 6
export const MAX_CODE_LENGTH = 64

export function normaliseCode(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\s-]+/g, '')
    .toUpperCase()
}

export function hashCode(normalised: string): string {
  return createHash('sha256').update(normalised, 'utf8').digest('hex')
}

/** The last four characters, for the console (never enough to redeem). */
export function codeHint(normalised: string): string {
  return `…${normalised.slice(-4)}`
}

export function generateCode(): string {
  const groups: string[] = []
  for (let g = 0; g < 4; g++) {
    let group = ''
    for (let i = 0; i < 4; i++) group += ALPHABET[randomInt(ALPHABET.length)]
    groups.push(group)
  }
  return groups.join('-')
}
