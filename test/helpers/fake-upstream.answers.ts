import { CALL_ID, DEFAULT_TEXT, functionCallItem, responseObject } from './fake-upstream.events.ts'
import type { Behavior, UsageNumbers } from './fake-upstream.ts'

/** Non-stream answers, as OpenAI shapes them. `usage` is left out when omitUsage is set. */
const CREATED = 1_700_000_000

const withUsage = (answer: Record<string, unknown>, usage: UsageNumbers | null) =>
  usage ? { ...answer, usage: usage.raw } : answer

export function chatAnswer(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  const n = typeof body.n === 'number' ? body.n : 1
  return withUsage(
    {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: CREATED,
      model: body.model,
      choices: Array.from({ length: n }, (_, index) => ({
        index,
        message: behavior.toolCall
          ? {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: [{ id: CALL_ID, type: 'function', function: behavior.toolCall }],
            }
          : {
              role: 'assistant',
              content: behavior.text ?? DEFAULT_TEXT,
              refusal: null,
              ...(behavior.audioId
                ? { audio: { id: behavior.audioId, data: '', transcript: '', expires_at: CREATED } }
                : {}),
            },
        logprobs: null,
        finish_reason: behavior.toolCall ? 'tool_calls' : 'stop',
      })),
    },
    usage,
  )
}

export function completionAnswer(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  return withUsage(
    {
      id: 'cmpl-fake',
      object: 'text_completion',
      created: CREATED,
      model: body.model,
      choices: [
        { text: behavior.text ?? DEFAULT_TEXT, index: 0, logprobs: null, finish_reason: 'stop' },
      ],
    },
    usage,
  )
}

/** Honours encoding_format: the openai SDK asks for base64 by default and decodes it. */
export function embeddingsAnswer(
  body: Record<string, unknown>,
  _behavior: Behavior,
  usage: UsageNumbers | null,
) {
  const inputs =
    Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input : [body.input]
  const vector = (index: number) =>
    Array.from({ length: 8 }, (_, i) => (index + 1) * 0.125 + i / 64)
  return withUsage(
    {
      object: 'list',
      data: inputs.map((_, index) => ({
        object: 'embedding',
        index,
        embedding:
          body.encoding_format === 'base64'
            ? Buffer.from(new Float32Array(vector(index)).buffer).toString('base64')
            : vector(index),
      })),
      model: body.model,
    },
    usage,
  )
}

export function responsesAnswer(
  body: Record<string, unknown>,
  behavior: Behavior,
  usage: UsageNumbers | null,
) {
  const output = behavior.toolCall ? [functionCallItem(behavior.toolCall, 'completed')] : undefined
  return responseObject(
    body,
    behavior.text ?? DEFAULT_TEXT,
    usage?.raw ?? null,
    'completed',
    output,
  )
}
