import { z } from 'zod'

/*
 * The proxied bodies as /openapi.json shows them: what the gateway itself reads (model, stream,
 * the output bounds), as loose objects, since every other OpenAI field passes through untouched
 * (src/pipeline/request/body-shape.ts decides; these only document). Each comes with an example
 * that works as it is from "Try it out" on the shipped plans (gpt-4o-mini is on Free and Pro).
 */
const MODEL = 'gpt-4o-mini'

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).nullable(),
})

const streamFields = {
  stream: z.boolean().optional().meta({ description: 'Answer as server-sent events' }),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional(),
}

export const ChatCompletionBody = z.looseObject({
  model: z.string().meta({ description: 'A model your plan opens (403 otherwise)' }),
  messages: z.array(message).min(1),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  n: z.number().int().positive().optional(),
  ...streamFields,
})

export const CompletionBody = z.looseObject({
  model: z.string(),
  prompt: z.union([z.string(), z.array(z.string())]),
  max_tokens: z.number().int().positive().optional(),
  ...streamFields,
})

export const EmbeddingBody = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string())]),
})

export const ResponseBody = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.looseObject({}))]),
  max_output_tokens: z.number().int().positive().optional(),
  stream: z.boolean().optional(),
})

export const EXAMPLES = {
  chat: {
    model: MODEL,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
    max_tokens: 50,
  },
  completion: { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello:', max_tokens: 20 },
  embedding: { model: 'text-embedding-3-small', input: 'The quick brown fox' },
  response: { model: MODEL, input: 'Say hello in one short sentence.', max_output_tokens: 50 },
}
