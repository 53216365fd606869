import type { Behavior, UsageNumbers } from './fake-upstream.ts'

/** One SSE event to send; `content` marks the events that carry generated text. */
export interface FakeEvent {
  text: string
  content: boolean
}

const CREATED = 1_700_000_000
export const DEFAULT_TEXT = 'Hello from the fake upstream!'

export const CALL_ID = 'call_fake_1'
export const FUNCTION_ITEM_ID = 'fc_fake_1'

/** The answer's text (or a tool call's arguments) in `chunks` pieces (default 3), as a model would stream it. */
export function pieces(behavior: Behavior): string[] {
  const text = behavior.toolCall?.arguments ?? behavior.text ?? DEFAULT_TEXT
  const count = Math.max(1, behavior.chunks ?? 3)
  const size = Math.ceil(text.length / count)
  return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size))
}

const data = (value: unknown): FakeEvent => ({
  text: `data: ${JSON.stringify(value)}\n\n`,
  content: false,
})
const content = (value: unknown): FakeEvent => ({ ...data(value), content: true })

/**
 * Chat Completions stream. With stream_options.include_usage every chunk
 * carries `"usage": null` and a last chunk with `"choices": []` carries the
 * usage, before `data: [DONE]` (OpenAI's documented behaviour).
 */
export function* chatEvents(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  const withUsage = includeUsage(body)
  const base = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: body.model,
  }
  const extra = withUsage ? { usage: null } : {}
  if (behavior.toolCall) {
    yield* chatToolCallEvents(base, behavior, extra)
    if (withUsage && usage) yield data({ ...base, choices: [], usage: usage.raw })
    yield { text: 'data: [DONE]\n\n', content: false }
    return
  }
  // An audio answer names its audio (a stored object) in the first delta.
  const audio = behavior.audioId ? { audio: { id: behavior.audioId, transcript: '' } } : {}
  yield data({
    ...base,
    choices: [
      { index: 0, delta: { role: 'assistant', content: '', ...audio }, finish_reason: null },
    ],
    ...extra,
  })
  for (const [i, piece] of pieces(behavior).entries()) {
    const delta = behavior.audioBytesPerChunk
      ? { audio: audioDelta(i, piece, behavior.audioBytesPerChunk) }
      : { content: piece }
    yield content({
      ...base,
      choices: [{ index: 0, delta, finish_reason: null }],
      ...extra,
    })
  }
  yield data({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...extra })
  if (withUsage && usage) yield data({ ...base, choices: [], usage: usage.raw })
  yield { text: 'data: [DONE]\n\n', content: false }
}

/** An audio delta as OpenAI streams it: the id first, then transcript and pcm16 data pieces. */
function audioDelta(index: number, transcript: string, bytes: number) {
  const data = Buffer.alloc(bytes, index + 1).toString('base64')
  return index === 0 ? { id: 'audio_fake_1', transcript, data } : { transcript, data }
}

/** A streamed function call as OpenAI sends it: id and name first, then the arguments in pieces. */
function* chatToolCallEvents(base: object, behavior: Behavior, extra: object) {
  const name = behavior.toolCall?.name
  yield data({
    ...base,
    choices: [
      {
        index: 0,
        delta: {
          role: 'assistant',
          content: null,
          tool_calls: [
            { index: 0, id: CALL_ID, type: 'function', function: { name, arguments: '' } },
          ],
          refusal: null,
        },
        logprobs: null,
        finish_reason: null,
      },
    ],
    ...extra,
  })
  for (const piece of pieces(behavior)) {
    yield content({
      ...base,
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] },
          logprobs: null,
          finish_reason: null,
        },
      ],
      ...extra,
    })
  }
  yield data({
    ...base,
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }],
    ...extra,
  })
}

export function* completionEvents(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  const withUsage = includeUsage(body)
  const base = { id: 'cmpl-fake', object: 'text_completion', created: CREATED, model: body.model }
  const extra = withUsage ? { usage: null } : {}
  const parts = pieces(behavior)
  for (const [i, piece] of parts.entries()) {
    const finish = i === parts.length - 1 ? 'stop' : null
    yield content({
      ...base,
      choices: [{ text: piece, index: 0, logprobs: null, finish_reason: finish }],
      ...extra,
    })
  }
  if (withUsage && usage) yield data({ ...base, choices: [], usage: usage.raw })
  yield { text: 'data: [DONE]\n\n', content: false }
}

/** Responses API stream: typed events, usage in the final `response.completed`. No [DONE]. */
export function* responsesEvents(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  let seq = 0
  const event = (type: string, value: Record<string, unknown>, isContent = false): FakeEvent => ({
    text: `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...value })}\n\n`,
    content: isContent,
  })
  const id = behavior.responseId ?? 'resp_fake'
  const response = { ...responseObject(body, '', null, 'in_progress'), id }
  yield event('response.created', { response })
  yield event('response.in_progress', { response })
  if (behavior.toolCall) {
    const call = { ...functionCallItem(behavior.toolCall, 'in_progress'), arguments: '' }
    yield event('response.output_item.added', { output_index: 0, item: call })
    for (const piece of pieces(behavior)) {
      const delta = { item_id: FUNCTION_ITEM_ID, output_index: 0, delta: piece }
      yield event('response.function_call_arguments.delta', delta, true)
    }
    const done = functionCallItem(behavior.toolCall, 'completed')
    yield event('response.function_call_arguments.done', {
      item_id: FUNCTION_ITEM_ID,
      output_index: 0,
      arguments: done.arguments,
    })
    yield event('response.output_item.done', { output_index: 0, item: done })
    const completed = { ...responseObject(body, '', usage?.raw ?? null, 'completed', [done]), id }
    yield event('response.completed', { response: completed })
    return
  }
  const item = {
    id: 'msg_fake',
    type: 'message',
    status: 'in_progress',
    role: 'assistant',
    content: [],
  }
  yield event('response.output_item.added', { output_index: 0, item })
  const part = { type: 'output_text', text: '', annotations: [] }
  yield event('response.content_part.added', {
    item_id: 'msg_fake',
    output_index: 0,
    content_index: 0,
    part,
  })
  let text = ''
  for (const piece of pieces(behavior)) {
    text += piece
    yield event(
      'response.output_text.delta',
      { item_id: 'msg_fake', output_index: 0, content_index: 0, delta: piece, logprobs: [] },
      true,
    )
  }
  yield event('response.output_text.done', {
    item_id: 'msg_fake',
    output_index: 0,
    content_index: 0,
    text,
    logprobs: [],
  })
  const finalPart = { type: 'output_text', text, annotations: [], logprobs: [] }
  yield event('response.content_part.done', {
    item_id: 'msg_fake',
    output_index: 0,
    content_index: 0,
    part: finalPart,
  })
  yield event('response.output_item.done', {
    output_index: 0,
    item: { ...item, status: 'completed', content: [finalPart] },
  })
  yield event('response.completed', {
    response: { ...responseObject(body, text, usage?.raw ?? null, 'completed'), id },
  })
}

export function functionCallItem(call: { name: string; arguments: string }, status: string) {
  return {
    id: FUNCTION_ITEM_ID,
    type: 'function_call',
    status,
    arguments: call.arguments,
    call_id: CALL_ID,
    name: call.name,
  }
}

export function responseObject(
  body: Record<string, unknown>,
  text: string,
  usage: unknown,
  status: string,
  output?: unknown[],
) {
  return {
    id: 'resp_fake',
    object: 'response',
    created_at: CREATED,
    status,
    model: body.model,
    output:
      output ??
      (status === 'completed'
        ? [
            {
              id: 'msg_fake',
              type: 'message',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text, annotations: [] }],
            },
          ]
        : []),
    error: null,
    incomplete_details: null,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage,
  }
}

function includeUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined
  return options?.include_usage === true
}
