/*
 * The generated output of an Anthropic answer, for the delivered-output count
 * (estimate/output-text.ts) that bills a stream cut short or an answer without
 * usage: text, thinking (billed as output, whether shown or summarised) and a
 * tool call's input JSON. Signatures and redacted thinking are opaque data, no
 * text the tokenizer could count fairly: left out.
 */

/** The text a `content_block_delta` event's delta adds, or null. */
export function anthropicDeltaText(delta: Record<string, unknown>): string | null {
  const value =
    delta.type === 'text_delta'
      ? delta.text
      : delta.type === 'thinking_delta'
        ? delta.thinking
        : delta.type === 'input_json_delta'
          ? delta.partial_json
          : null
  return typeof value === 'string' ? value : null
}

/** The texts of a non-stream Anthropic message (`type: "message"`): its content blocks. */
export function anthropicMessageTexts(answer: Record<string, unknown>): string[] {
  const texts: string[] = []
  if (answer.type !== 'message' || !Array.isArray(answer.content)) return texts
  for (const block of answer.content) {
    if (typeof block !== 'object' || block === null) continue
    const { type, text, thinking, input } = block as Record<string, unknown>
    if (type === 'text' && typeof text === 'string') texts.push(text)
    else if (type === 'thinking' && typeof thinking === 'string') texts.push(thinking)
    else if (type === 'tool_use' && input !== undefined) texts.push(JSON.stringify(input))
  }
  return texts
}
