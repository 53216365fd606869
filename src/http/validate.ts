import { zValidator } from '@hono/zod-validator'
import type { ZodType } from 'zod'
import { validationError } from './errors.ts'

/**
 * zod validation with the gateway's envelope: a bad body is a 400 naming each
 * bad field. Malformed JSON never reaches the schema (Hono throws, onError answers 400).
 */
export function validate<T extends ZodType, Target extends 'json' | 'query' | 'param'>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw validationError(result.error as never)
  })
}
