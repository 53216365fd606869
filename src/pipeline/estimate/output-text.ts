import { anthropicDeltaText, anthropicMessageTexts } from '../anthropic/output.ts'
import type { TokenCounter } from './tokenizer.ts'

/** SSE line breaks: LF, CRLF or a lone CR (the SSE spec allows all three). */
const LINE_BREAK = /\r\n|\r|\n/g
const CR = '\r'

/*
 * Streamed audio is pcm16 (the only format the API streams): 24,000 samples a
 * second of 2 bytes, 48,000 bytes a second. OpenAI bills an answer's audio at
 * 20 tokens a second (a token per 50 ms); counted here at twice that, 1,200
 * decoded bytes a token, because a cut stream's count stands in for what the
 * upstream produced, and the rate is published for the Realtime API only.
 */
export const AUDIO_OUTPUT_BYTES_PER_TOKEN = 1200

/**
 * An answer's generated output, as the delivered-output counter sees it:
 * text (message content, refusals, reasoning text, tool and legacy function
 * call arguments, audio transcripts) and audio (its decoded bytes).
 */
export interface Output {
  texts: string[]
  audioBytes: number
}

/** The tokens of an output: its text by the model's tokenizer, its audio by its length. */
export function tokensOfOutput(count: TokenCounter, output: Output): number {
  const text = output.texts.join('')
  return (text === '' ? 0 : count(text)) + audioTokens(output.audioBytes)
}

export function audioTokens(bytes: number): number {
  return Math.ceil(bytes / AUDIO_OUTPUT_BYTES_PER_TOKEN)
}

/**
 * Reads an SSE body's generated output as it arrives, a piece at a time (the
 * delivered-output counter, delivered-output.ts): complete lines are read at once,
 * only the unfinished last line is held, and an event's data lines are
 * joined as the SSE spec says; data that is no JSON as a whole (events not
 * separated by a blank line) is read line by line. Fed whole (textOfSse) or
 * in pieces cut anywhere, it reads the same output.
 */
export class SseOutputReader {
  readonly output: Output = { texts: [], audioBytes: 0 }
  /** The current event's data lines, and their length. */
  #data: string[] = []
  #dataChars = 0
  /** The unfinished last line (a CR ending it may be half of a CRLF: held too). */
  #partial = ''
  /** The unfinished line outgrew lineLimit: it is skipped up to its end, unread. */
  #skipping = false
  readonly #lineLimit: number

  constructor(lineLimit = Number.POSITIVE_INFINITY) {
    this.#lineLimit = lineLimit
  }

  push(text: string) {
    // The held line has no break but perhaps a last CR: the search starts there, not at 0
    // (nothing is held while a line is skipped).
    const from = Math.max(0, this.#partial.length - 1)
    let s = this.#partial + text
    this.#partial = ''
    if (this.#skipping) {
      const next = s.search(/[\r\n]/)
      if (next === -1) return
      this.#skipping = false
      // The skipped line's break ends it (a CRLF's LF, if split off, makes one empty line more:
      // an event boundary, where a line that long already broke the event).
      s = s.slice(next + (s.startsWith('\r\n', next) ? 2 : 1))
    }
    LINE_BREAK.lastIndex = from
    let at = 0
    for (let match = LINE_BREAK.exec(s); match; match = LINE_BREAK.exec(s)) {
      // A CR that ends what has arrived may be the first half of a CRLF: wait for the next byte.
      if (match[0] === CR && match.index === s.length - 1) break
      this.#line(s.slice(at, match.index))
      at = match.index + match[0].length
    }
    this.#partial = s.slice(at)
    if (this.#partial.length > this.#lineLimit) {
      // Held whole only up to the limit (a broken or hostile upstream's endless line): the
      // rest of it passes unread, as the meter passes it (sse-line-framer.ts, LINE_LIMIT).
      this.#skipping = !this.#partial.endsWith(CR)
      this.#partial = ''
    }
  }

  /** The end of the body: its last line, even without a break, ends the last event. */
  end() {
    const rest = this.#skipping ? '' : this.#partial
    this.#partial = ''
    for (const line of rest.split(LINE_BREAK)) this.#line(line)
    this.#endEvent()
  }

  /** Characters held: the unfinished line and the current event's data. */
  heldChars(): number {
    return this.#partial.length + this.#dataChars
  }

  #line(line: string) {
    if (line === '') this.#endEvent()
    else if (line.startsWith('data:')) {
      const data = line.slice(line[5] === ' ' ? 6 : 5)
      this.#data.push(data)
      this.#dataChars += data.length
      // An event whose data lines never end (no blank line) is read as far as it went.
      if (this.#dataChars > this.#lineLimit) this.#endEvent()
    }
  }

  #endEvent() {
    collectData(this.#data, this.output)
    this.#data = []
    this.#dataChars = 0
  }
}

/**
 * The generated text of an SSE body, for counting output tokens when the
 * upstream gave no usage (or when a stream was cut short).
 */
export function textOfSse(sse: string): string {
  const reader = new SseOutputReader()
  reader.push(sse)
  reader.end()
  return reader.output.texts.join('')
}

function collectData(lines: string[], output: Output) {
  if (lines.length === 0) return
  if (lines.length > 1 && collectPayload(lines.join('\n'), output)) return
  for (const line of lines) collectPayload(line, output)
}

/** False when the payload is no JSON (a partial last line, cut mid-event: nothing countable). */
function collectPayload(payload: string, output: Output): boolean {
  const trimmed = payload.trim()
  if (trimmed === '' || trimmed === '[DONE]') return true
  try {
    collectEvent(JSON.parse(trimmed), output)
    return true
  } catch {
    return false
  }
}

/** Output of a non-stream answer: chat messages (text and audio), completion texts, Responses output. */
export function outputOfJsonAnswer(answer: unknown): Output {
  const output: Output = { texts: [], audioBytes: 0 }
  if (!isObject(answer)) return output
  output.texts.push(...anthropicMessageTexts(answer))
  for (const choice of arrayOf(answer.choices)) {
    if (!isObject(choice)) continue
    if (typeof choice.text === 'string') output.texts.push(choice.text)
    if (isObject(choice.message)) collectMessage(choice.message, output)
  }
  for (const item of arrayOf(answer.output)) {
    if (!isObject(item)) continue
    if (typeof item.arguments === 'string') output.texts.push(item.arguments)
    for (const part of arrayOf(item.content)) {
      if (isObject(part) && typeof part.text === 'string') output.texts.push(part.text)
    }
  }
  return output
}

/** The text of a non-stream answer (its audio aside). */
export function textOfJsonAnswer(answer: unknown): string {
  return outputOfJsonAnswer(answer).texts.join('')
}

function collectEvent(event: unknown, output: Output) {
  if (!isObject(event)) return
  // Responses API: response.output_text.delta, response.function_call_arguments.delta, ...;
  // response.audio.delta carries base64 audio, not text.
  if (typeof event.delta === 'string') {
    if (event.type === 'response.audio.delta') output.audioBytes += base64Bytes(event.delta)
    else output.texts.push(event.delta)
    return
  }
  // Anthropic: content_block_delta's delta is an object (text, thinking, tool input JSON).
  if (isObject(event.delta)) {
    const text = anthropicDeltaText(event.delta)
    if (text !== null) output.texts.push(text)
  }
  for (const choice of arrayOf(event.choices)) {
    if (!isObject(choice)) continue
    if (typeof choice.text === 'string') output.texts.push(choice.text)
    if (isObject(choice.delta)) collectMessage(choice.delta, output)
  }
}

/** A chat message or delta: every output modality the answer can carry. */
function collectMessage(message: Record<string, unknown>, output: Output) {
  for (const key of ['content', 'refusal', 'reasoning_content'] as const) {
    const value = message[key]
    if (typeof value === 'string') output.texts.push(value)
  }
  for (const call of arrayOf(message.tool_calls)) {
    if (isObject(call) && isObject(call.function) && typeof call.function.arguments === 'string') {
      output.texts.push(call.function.arguments)
    }
  }
  // The legacy functions API streams its call as delta.function_call.
  const legacy = message.function_call
  if (isObject(legacy) && typeof legacy.arguments === 'string') output.texts.push(legacy.arguments)
  const audio = message.audio
  if (isObject(audio)) {
    if (typeof audio.transcript === 'string') output.texts.push(audio.transcript)
    if (typeof audio.data === 'string') output.audioBytes += base64Bytes(audio.data)
  }
}

/** Decoded size of base64 data without decoding it (padding and line breaks aside). */
function base64Bytes(data: string): number {
  let length = data.length
  while (length > 0 && data[length - 1] === '=') length--
  return Math.floor((length * 3) / 4)
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
