/**
 * The generated text of an answer, for counting output tokens when the
 * upstream gave no usage (or when a stream was cut short). Only this slow
 * path parses every SSE event; the metered pass-through never does.
 */
export function textOfSse(sse: string): string {
  const texts: string[] = []
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data:')) continue
    const payload = line.slice(5).trim()
    if (payload === '' || payload === '[DONE]') continue
    try {
      collectEvent(JSON.parse(payload), texts)
    } catch {
      // A partial last line (cut mid-event): nothing countable in it.
    }
  }
  return texts.join('')
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
