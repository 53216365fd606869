type Usage = Record<string, unknown>

/*
 * Anthropic's usage splits the prompt into three exclusive classes:
 * `input_tokens` (after the last cache breakpoint), `cache_creation_input_tokens`
 * (written to the cache now) and `cache_read_input_tokens` (read from it); the
 * prompt the upstream processed is their sum. settle/usage.ts (anthropicUsage)
 * turns the final object into the totals and their classes.
 */

/**
 * A stream's usage, as Anthropic reports it: `message_start` carries the
 * input and cache classes (and a first, small output count);
 * each `message_delta` carries cumulative totals that overwrite, field by
 * field, what came before, and may omit the input classes (Bedrock-backed
 * streams do). The final usage is the start overlaid by the last delta.
 */
export class AnthropicStreamUsage {
  #merged: Usage | null = null
  #final = false

  /**
   * Whether a message_delta came: before it, the output count is message_start's
   * first few tokens, and a stream cut there bills its output as counted (settle.ts).
   */
  get final(): boolean {
    return this.#final
  }

  /** The usage object so far after this event (read by readUsage), or null when it carries none. */
  read(event: Record<string, unknown>): Usage | null {
    if (
      event.type === 'message_start' &&
      isObject(event.message) &&
      isObject(event.message.usage)
    ) {
      this.#merged = { ...event.message.usage }
    } else if (event.type === 'message_delta' && isObject(event.usage)) {
      this.#merged = { ...this.#merged, ...event.usage }
      this.#final = true
    } else return null
    return this.#merged
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
