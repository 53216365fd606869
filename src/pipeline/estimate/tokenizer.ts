import {
  countTokens as countCl100k,
  setMergeCacheSize as setCl100kMergeCache,
} from 'gpt-tokenizer/encoding/cl100k_base'
import {
  countTokens as countO200k,
  setMergeCacheSize as setO200kMergeCache,
} from 'gpt-tokenizer/encoding/o200k_base'

/*
 * gpt-tokenizer keeps a cache of 100,000 merged pieces by default, evicted by
 * deleting a Map's first key. Once a client's unique pieces (random CJK, say)
 * have filled it, every eviction walks up to half the map's deleted entries
 * first: counting a 48 MB stream went from 2.5 s to 78 s after another test had
 * filled it. A small cache keeps what it is good for (a piece that repeats,
 * as in a run cut into equal slices) and bounds that walk: 240 KB of prose
 * counts in 3.8 ms with 1,000 entries full of junk, 5.7 ms with 100,000.
 */
const MERGE_CACHE_PIECES = 1_000
setO200kMergeCache(MERGE_CACHE_PIECES)
setCl100kMergeCache(MERGE_CACHE_PIECES)

/** Counts the tokens of a text the way one model family does. */
export type TokenCounter = (text: string) => number

/**
 * A model family's tokenizer: `count` is the raw BPE count of a piece of text,
 * `scale` what the sum is multiplied by (1 for the tokenizers the gateway has).
 * Counts are exact: nothing is sampled, so no placement of dense text can hide
 * it (gpt-tokenizer was chosen over js-tiktoken: identical counts, half the time).
 */
export interface Tokenizer {
  family: 'o200k' | 'cl100k' | 'unknown'
  count: TokenCounter
  scale: number
}

/** o200k_base: GPT-4o, 4.1, 4.5, 5, the o-series, chatgpt-*, gpt-oss (close enough to harmony). */
const O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d|chatgpt-|codex-|gpt-realtime|gpt-audio)/
/** cl100k_base: GPT-4 (turbo), GPT-3.5, the embeddings models. */
const CL100K = /^(gpt-4|gpt-3\.5|text-embedding-|davinci-002|babbage-002)/

/**
 * Unknown models (Claude, Llama, ...): the o200k count times this. Bytes / 4
 * is no bound (random printable ASCII is 0.74 o200k tokens a character, Braille
 * about 3); the o200k count is, for o200k. 1.35 covers the largest ratio of
 * cl100k (a coarser vocabulary, like the open models') to o200k measured on
 * adversarial text: emoji 1.34, CJK 1.23, random ASCII 1.02 (docs/estimation.md).
 */
export const UNKNOWN_TOKENIZER_SCALE = 1.35

const O200K_TOKENIZER: Tokenizer = { family: 'o200k', count: countO200k, scale: 1 }
const CL100K_TOKENIZER: Tokenizer = { family: 'cl100k', count: countCl100k, scale: 1 }
const UNKNOWN_TOKENIZER: Tokenizer = {
  family: 'unknown',
  count: countO200k,
  scale: UNKNOWN_TOKENIZER_SCALE,
}

export function tokenizerForModel(model: string): Tokenizer {
  const name = model.toLowerCase()
  if (O200K.test(name)) return O200K_TOKENIZER
  if (CL100K.test(name)) return CL100K_TOKENIZER
  return UNKNOWN_TOKENIZER
}

/** The tokenizer by family name (the counting worker receives the name). */
export function tokenizerOfFamily(family: Tokenizer['family']): Tokenizer {
  return family === 'o200k'
    ? O200K_TOKENIZER
    : family === 'cl100k'
      ? CL100K_TOKENIZER
      : UNKNOWN_TOKENIZER
}

/** The whole text counted at once, on the calling thread: short texts, and tests. */
export function counterForModel(model: string): TokenCounter {
  const tokenizer = tokenizerForModel(model)
  return (text) =>
    scaled(tokenizer, countFrom(tokenizer.count, text, 0, Number.POSITIVE_INFINITY).tokens)
}

export function scaled(tokenizer: Tokenizer, tokens: number): number {
  return tokenizer.scale === 1 ? tokens : Math.ceil(tokens * tokenizer.scale)
}

/*
 * BPE is quadratic in the length of one pre-tokenizer piece, and a piece is a
 * run of one class: letters, punctuation, or whitespace (16,000 spaces mixed
 * with U+3000 took 0.8 s in one call; 100,000 CJK characters 198 s). Every run
 * of MAX_PIECE characters without a change between whitespace and the rest is
 * cut, so no piece the tokenizer sees is longer. A token never spans a cut, so a
 * cut adds a token or none (64 spaces are one o200k token: 10 MB of spaces count
 * 164,000, an over-estimate of a text no one sends in earnest).
 *
 * The text is also handed to the tokenizer in segments of about MAX_SEGMENT
 * characters, each ending where a whitespace run starts (the pre-tokenizer never
 * joins across that point, so those cuts change nothing): the caller can stop
 * between two segments when its time is up (token-pool.ts).
 */
const MAX_PIECE = 64
const MAX_SEGMENT = 1024

/**
 * Counts `text` from `from` until the end, or until performance.now() passes
 * `deadline` between two segments. `next` is where it stopped (text.length when done).
 */
export function countFrom(
  count: TokenCounter,
  text: string,
  from: number,
  deadline: number,
): { tokens: number; next: number } {
  const length = text.length
  if (length - from <= MAX_PIECE)
    return { tokens: count(from === 0 ? text : text.slice(from)), next: length }
  let tokens = 0
  let start = from
  let runStart = from
  let runSpace = isSpace(text.charCodeAt(from))
  for (let i = from + 1; i < length; i++) {
    const c = text.charCodeAt(i)
    // Never cut between the two halves of a surrogate pair.
    if (c >= 0xdc00 && c <= 0xdfff) continue
    const space = isSpace(c)
    if (space !== runSpace) {
      runSpace = space
      runStart = i
      if (!space || i - start < MAX_SEGMENT) continue
    } else if (i - runStart >= MAX_PIECE) {
      runStart = i
    } else continue
    tokens += count(text.slice(start, i))
    start = i
    if (performance.now() > deadline) return { tokens, next: i }
  }
  tokens += count(start === 0 ? text : text.slice(start))
  return { tokens, next: length }
}

/**
 * What the tokenizers' `\s` matches (ECMAScript WhiteSpace and LineTerminator):
 * a loop over char codes is about 30 times cheaper than testing a regex per character.
 */
export function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d)
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}
