/**
 * Request bodies of the scenarios. The model is a real OpenAI name so that the gateway runs its
 * real tokenizer (unknown models get a byte-count guess); the mock reads the suffix for its
 * behaviour (-paced, -slow), which the tokenizer's model-family prefix match ignores.
 */
export const MODEL = 'gpt-4o-mini'

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but ' +
  'have an they you were her she there been one all we their has would when if so no what up out ' +
  'about who them more some could into time only new other then do these two may first any like ' +
  'system request gateway token quota billing stream upstream latency memory process database ' +
  'configuration subscription payment reservation settlement throughput concurrency benchmark ' +
  'function variable interface implementation performance measurement allocation transaction'
).split(' ')

/** Deterministic text of about `chars` characters: words, commas and sentences, like prose. */
export function proseText(chars: number): string {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
    return seed / 0x80000000
  }
  const parts: string[] = []
  let length = 0
  let sentence = 0
  while (length < chars) {
    let word = WORDS[Math.floor(random() * WORDS.length)]!
    if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1)
    sentence++
    if (sentence > 8 && random() < 0.15) {
      word += '.'
      sentence = 0
    } else if (random() < 0.06) word += ','
    parts.push(word)
    length += word.length + 1
  }
  return parts.join(' ')
}

function chat(model: string, content: string, extra: object = {}): string {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content },
    ],
    max_tokens: 256,
    ...extra,
  })
}

/** ~8,000 tokens of o200k_base (checked by bench/run.ts with gpt-tokenizer). */
export const LONG_PROMPT = proseText(42_500)

export const bodies = {
  chat: chat(MODEL, 'Say hello in one short sentence.'),
  stream: chat(MODEL, 'Say hello in one short sentence.', { stream: true }),
  long: chat(MODEL, LONG_PROMPT),
  paced: chat(`${MODEL}-paced`, 'Count to twenty.', { stream: true }),
  slow: chat(`${MODEL}-slow`, 'Take your time.', { stream: true }),
}
