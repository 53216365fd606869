import { createHash } from 'node:crypto'
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base'
import * as o200k from 'gpt-tokenizer/encoding/o200k_base'

/**
 * What the simulated model says, and how many tokens it costs. Answers are
 * canned but plausible (they pick up the question and its language), and the
 * counts are real: gpt-tokenizer with the model family's encoding, so the
 * usage the gateway bills is what OpenAI would report for the same texts.
 */
type Encoding = Pick<typeof cl100k, 'encode' | 'decode' | 'countTokens'>

/** GPT-4o and later, and the o-series, use o200k_base; GPT-4, 3.5 and the rest cl100k_base. */
function encodingFor(model: string): Encoding {
  return /^(gpt-4o|gpt-4\.1|gpt-5|o\d)/i.test(model) ? o200k : cl100k
}

export function countTokens(model: string, text: string): number {
  return text === '' ? 0 : encodingFor(model).countTokens(text)
}

/** OpenAI's chat framing: 3 tokens per message plus its role (and name), 3 to prime the reply. */
export function countChatPrompt(model: string, messages: unknown): number {
  if (!Array.isArray(messages)) return 0
  let total = 3
  for (const message of messages as Array<Record<string, unknown>>) {
    total += 3 + countTokens(model, String(message?.role ?? ''))
    total += countTokens(model, textOf(message?.content))
    if (typeof message?.name === 'string') total += 1 + countTokens(model, message.name)
  }
  return total
}

/** The text of a message content: a string, or the text parts of an array of parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map(textOf).join('\n')
  if (content && typeof content === 'object') {
    const part = content as Record<string, unknown>
    return textOf(part.text ?? part.content ?? '')
  }
  return ''
}

const ENGLISH = [
  'That is a good question. In short: it depends on what you want to optimise, but a simple approach usually wins at first, and you can refine it once you have measurements.',
  'Here is how I would think about it. Start from the goal, list the two or three options that fit, and pick the one that is easiest to undo if it turns out to be wrong.',
  'Let me break it down. There are three parts to it: what you have, what you need, and the smallest step between them. The first step is usually the most informative one.',
  'Sure. The key idea is to keep things small and observable: make one change, look at what happened, and let the numbers tell you where to go next.',
]
const RUSSIAN = [
  'Хороший вопрос. Коротко: всё зависит от того, что вы хотите оптимизировать, но сначала обычно выигрывает простой подход, а уточнить его можно после измерений.',
  'Вот как я бы к этому подошёл. Начните с цели, выберите два-три подходящих варианта и возьмите тот, который легче всего отменить, если он окажется неверным.',
  'Давайте разберём по частям: что у вас есть, что нужно и какой самый маленький шаг между ними. Первый шаг обычно самый полезный.',
]

/**
 * A reply to the conversation's last user text: a greeting for a greeting,
 * otherwise a short paragraph chosen by a hash of the question (the same
 * question gets the same answer), in Russian when the question is.
 */
export function composeReply(question: string): string {
  const russian = /[а-яё]/i.test(question)
  const trimmed = question.trim().replace(/\s+/g, ' ')
  const quoted = trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed
  if (/^(hi|hello|hey|привет|здравствуй)/i.test(trimmed)) {
    return russian
      ? 'Привет! Я модель-симулятор демо-шлюза: отвечаю правдоподобным текстом, а токены считаются по-настоящему. Каждый запрос расходует квоту вашего тарифа.'
      : 'Hello! I am the demo gateway’s simulated model: my answers are canned, but the tokens are counted for real, and every request spends your plan’s quota.'
  }
  const list = russian ? RUSSIAN : ENGLISH
  const pick = createHash('sha256').update(trimmed).digest()[0]! % list.length
  const intro = quoted ? (russian ? `Вы спросили: «${quoted}». ` : `You asked: “${quoted}”. `) : ''
  return `${intro}${list[pick]}`
}

/** Cuts a reply to `maxTokens` tokens; `truncated` says finish_reason is "length". */
export function limitTokens(model: string, text: string, maxTokens: number | undefined) {
  const encoding = encodingFor(model)
  const tokens = encoding.encode(text)
  if (maxTokens === undefined || tokens.length <= maxTokens) {
    return { text, tokens: tokens.length, truncated: false }
  }
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  const cut = encoding.decode(tokens.slice(0, maxTokens)).replace(/\uFFFD+$/, '')
  return { text: cut, tokens: maxTokens, truncated: true }
}

/** Pieces to stream: one word (with its trailing space) per event, as models roughly do. */
export function streamPieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [text]
}
