import { randomUUID } from 'node:crypto'

/**
 * OpenAI's wire shapes for the simulated upstream: JSON answers and the SSE
 * events of a stream, built from a reply text already cut to max_tokens.
 * Chat streams end with the usage chunk (`choices: []`) when the request
 * asks for it with stream_options.include_usage, then `data: [DONE]`.
 */
type Body = Record<string, unknown>

export interface Generated {
  /** The text of each choice (n choices of the same reply). */
  texts: string[]
  promptTokens: number
  completionTokens: number
  truncated: boolean
}

const now = () => Math.floor(Date.now() / 1000)
const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`

function chatUsage(g: Generated) {
  return {
    prompt_tokens: g.promptTokens,
    completion_tokens: g.completionTokens,
    total_tokens: g.promptTokens + g.completionTokens,
  }
}

export function chatCompletion(body: Body, g: Generated) {
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: now(),
    model: body.model,
    choices: g.texts.map((text, index) => ({
      index,
      message: { role: 'assistant', content: text, refusal: null },
      logprobs: null,
      finish_reason: g.truncated ? 'length' : 'stop',
    })),
    usage: chatUsage(g),
    system_fingerprint: 'fp_demo',
  }
}

/** The chat stream's events in order; `pieces` are the first choice's text in stream pieces. */
export function chatChunks(body: Body, g: Generated, pieces: string[]): string[] {
  const options = body.stream_options as { include_usage?: unknown } | undefined
  const withUsage = options?.include_usage === true
  const base = {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion.chunk',
    created: now(),
    model: body.model,
    system_fingerprint: 'fp_demo',
    ...(withUsage ? { usage: null } : {}),
  }
  const choice = (delta: object, finish: string | null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  })
  const events = [sse(choice({ role: 'assistant', content: '' }, null))]
  for (const piece of pieces) events.push(sse(choice({ content: piece }, null)))
  events.push(sse(choice({}, g.truncated ? 'length' : 'stop')))
  if (withUsage) events.push(sse({ ...base, choices: [], usage: chatUsage(g) }))
  events.push('data: [DONE]\n\n')
  return events
}

export function textCompletion(body: Body, g: Generated) {
  return {
    id: `cmpl-${randomUUID()}`,
    object: 'text_completion',
    created: now(),
    model: body.model,
    choices: g.texts.map((text, index) => ({
      text,
      index,
      logprobs: null,
      finish_reason: g.truncated ? 'length' : 'stop',
    })),
    usage: chatUsage(g),
  }
}

export function textCompletionChunks(body: Body, g: Generated, pieces: string[]): string[] {
  const options = body.stream_options as { include_usage?: unknown } | undefined
  const base = { id: `cmpl-${randomUUID()}`, object: 'text_completion', created: now() }
  const choice = (text: string, finish: string | null) => ({
    ...base,
    model: body.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
  })
  const events = pieces.map((piece) => sse(choice(piece, null)))
  events.push(sse(choice('', g.truncated ? 'length' : 'stop')))
  if (options?.include_usage === true) {
    events.push(sse({ ...base, model: body.model, choices: [], usage: chatUsage(g) }))
  }
  events.push('data: [DONE]\n\n')
  return events
}

export function responseObject(body: Body, text: string, g: Generated | null, id: string) {
  return {
    id,
    object: 'response',
    created_at: now(),
    status: g ? 'completed' : 'in_progress',
    model: body.model,
    output: g
      ? [
          {
            id: `msg_${id}`,
            type: 'message',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [] }],
          },
        ]
      : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: g
      ? {
          input_tokens: g.promptTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: g.completionTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: g.promptTokens + g.completionTokens,
        }
      : null,
  }
}

/** Responses API stream: typed events, usage in the final `response.completed` (no [DONE]). */
export function responseEvents(body: Body, g: Generated, pieces: string[]): string[] {
  const id = `resp_${randomUUID().replaceAll('-', '')}`
  let sequence = 0
  const event = (type: string, value: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...value })}\n\n`
  const at = { item_id: `msg_${id}`, output_index: 0, content_index: 0 }
  const pending = responseObject(body, '', null, id)
  return [
    event('response.created', { response: pending }),
    event('response.in_progress', { response: pending }),
    event('response.output_item.added', {
      output_index: 0,
      item: {
        id: at.item_id,
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      },
    }),
    event('response.content_part.added', {
      ...at,
      part: { type: 'output_text', text: '', annotations: [] },
    }),
    ...pieces.map((delta) => event('response.output_text.delta', { ...at, delta, logprobs: [] })),
    event('response.output_text.done', { ...at, text: g.texts[0], logprobs: [] }),
    event('response.completed', { response: responseObject(body, g.texts[0] ?? '', g, id) }),
  ]
}
