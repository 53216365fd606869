/** SSE line breaks: LF, CRLF or a lone CR (the SSE spec allows all three). */
const LINE_BREAK = /\r\n|\r|\n/

/**
 * The generated text of an answer, for counting output tokens when the
 * upstream gave no usage (or when a stream was cut short). Only this slow
 * path parses every SSE event; the metered pass-through never does. An
 * event's data lines are joined as the SSE spec says; data that is no JSON
 * as a whole (events not separated by a blank line) is read line by line.
 */
export function textOfSse(sse: string): string {
  const texts: string[] = []
  let data: string[] = []
  for (const line of sse.split(LINE_BREAK)) {
    if (line === '') {
      collectData(data, texts)
      data = []
    } else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5))
  }
  collectData(data, texts)
  return texts.join('')
}

function collectData(lines: string[], texts: string[]) {
  if (lines.length === 0) return
  if (lines.length > 1 && collectPayload(lines.join('\n'), texts)) return
  for (const line of lines) collectPayload(line, texts)
}

/** False when the payload is no JSON (a partial last line, cut mid-event: nothing countable). */
function collectPayload(payload: string, texts: string[]): boolean {
  const trimmed = payload.trim()
  if (trimmed === '' || trimmed === '[DONE]') return true
  try {
    collectEvent(JSON.parse(trimmed), texts)
    return true
  } catch {
    return false
  }
}

/** Text of a non-stream answer: chat message contents, completion texts, Responses output. */
export function textOfJsonAnswer(answer: unknown): string {
  const texts: string[] = []
  if (!isObject(answer)) return ''
  for (const choice of arrayOf(answer.choices)) {
    if (!isObject(choice)) continue
    if (typeof choice.text === 'string') texts.push(choice.text)
    if (isObject(choice.message)) collectMessage(choice.message, texts)
  }
  for (const item of arrayOf(answer.output)) {
    if (!isObject(item)) continue
    if (typeof item.arguments === 'string') texts.push(item.arguments)
    for (const part of arrayOf(item.content)) {
      if (isObject(part) && typeof part.text === 'string') texts.push(part.text)
    }
  }
  return texts.join('')
}

function collectEvent(event: unknown, texts: string[]) {
  if (!isObject(event)) return
  // Responses API: response.output_text.delta, response.function_call_arguments.delta, ...
  if (typeof event.delta === 'string') {
    texts.push(event.delta)
    return
  }
  for (const choice of arrayOf(event.choices)) {
    if (!isObject(choice)) continue
    if (typeof choice.text === 'string') texts.push(choice.text)
    if (isObject(choice.delta)) collectMessage(choice.delta, texts)
  }
}

function collectMessage(message: Record<string, unknown>, texts: string[]) {
  for (const key of ['content', 'refusal', 'reasoning_content'] as const) {
    const value = message[key]
    if (typeof value === 'string') texts.push(value)
  }
  for (const call of arrayOf(message.tool_calls)) {
    if (isObject(call) && isObject(call.function) && typeof call.function.arguments === 'string') {
      texts.push(call.function.arguments)
    }
  }
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
