import { z } from 'zod'
import { checkedBy } from '../request/checked-by.ts'

/*
 * The fields of an Anthropic Messages body the gateway acts on, typed as
 * body-shape.ts types OpenAI's: messages and system are walked by the
 * estimate, tools by the hosted-tool grant, thinking sizes the output reserve,
 * container and file sources name stored objects. Everything else (betas'
 * fields, cache_control, output_config, metadata) passes unchecked, as the
 * client's bytes.
 */
const anyObject = z.looseObject({})

/** The messages array: objects with a string role and string or block-array content. */
function messagesProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'an array of message objects'
  for (let i = 0; i < value.length; i++) {
    const message: unknown = value[i]
    if (!isObject(message)) return `messages[${i}] must be an object`
    if (typeof message.role !== 'string') return `messages[${i}].role must be a string`
    const content = message.content
    if (typeof content === 'string') continue
    if (!Array.isArray(content) || !content.every(isObject))
      return `messages[${i}].content must be a string or an array of content block objects`
  }
  return null
}

function systemProblem(value: unknown): string | null {
  if (typeof value === 'string') return null
  if (Array.isArray(value) && value.every(isObject)) return null
  return 'a string or an array of text block objects'
}

/**
 * The Messages body's shape over the fields every endpoint shares. A tool
 * without `type` is a client tool here (OpenAI's always have one), so tools
 * are objects of any shape; grantExtras reads their types.
 */
export function anthropicMessagesShape<T extends z.ZodObject>(common: T) {
  return common.extend({
    messages: checkedBy(messagesProblem),
    system: checkedBy(systemProblem),
    tools: z.array(z.looseObject({ type: z.string().nullish() })).nullish(),
    thinking: z
      .looseObject({ type: z.string(), budget_tokens: z.number().int().nonnegative().nullish() })
      .nullish(),
    container: z.union([z.string(), anyObject]).nullish(),
  }) as unknown as T
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
