type Usage = Record<string, unknown>

/*
 * Anthropic's usage splits the prompt into three exclusive classes:
 * `input_tokens` (after the last cache breakpoint), `cache_creation_input_tokens`
 * (written to the cache now) and `cache_read_input_tokens` (read from it). The
 * prompt the upstream processed is their sum, and that is what the ledger
 * bills as input until the usage row holds token classes of its own.
 */
const CACHE_CLASSES = ['cache_creation_input_tokens', 'cache_read_input_tokens'] as const

/**
 * The whole prompt of an Anthropic usage object: input plus cache writes and
 * reads. A class that is present but no count is returned as it came, so that
 * validUsage (settle/usage.ts) refuses the usage instead of billing less.
 */
export function anthropicInputTokens(usage: Usage): unknown {
  let total = usage.input_tokens
  for (const name of CACHE_CLASSES) {
    const value = usage[name]
    if (value === undefined || value === null) continue
    if (!isCount(value)) return value
    if (!isCount(total)) return total
    total += value
  }
  return total
}

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

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
